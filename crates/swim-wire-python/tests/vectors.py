"""Test vectors for swim-wire-python, produced and checked by the real
swim-protocol 0.6.3 package.

Run with the interpreter of a virtualenv that has swim-protocol==0.6.3:

    $SWIM_PY_VENV/bin/python vectors.py generate > data/vectors.json
    $SWIM_PY_VENV/bin/python vectors.py generate --big   # adds a 70 KB packet
    $SWIM_PY_VENV/bin/python vectors.py check < datagrams.json

`generate` prints JSON: packets pickled and packed by the package, default
secrets for given node numbers, and pickles the package writes that the Rust
decoder must refuse (they fall outside the Rust data model).

`check` reads a JSON list of {"secret": str, "packed": hex} and prints, for
each, what the package's own `UdpPack.unpack` turned it into (or null).
"""

import json
import pickle
import sys
import uuid

from swimprotocol.__about__ import __version__
from swimprotocol.packet import Ack, Gossip, GossipAck, Ping, PingReq, Source
from swimprotocol.sign import Signatures
from swimprotocol.status import Status
from swimprotocol.udp.pack import UdpPack

SECRET = 'test-secret'


def describe(packet):
    """A JSON-able description of a packet object, shared with the Rust
    tests."""
    if packet is None:
        return None
    desc = {
        'type': type(packet).__name__,
        'source': {'name': packet.source.name,
                   'validity': packet.source.validity.hex()},
    }
    if isinstance(packet, PingReq):
        desc['target'] = packet.target
    if isinstance(packet, (Gossip, GossipAck)):
        desc['name'] = packet.name
        desc['clock'] = packet.clock
    if isinstance(packet, Gossip):
        assert type(packet.status) is Status, packet.status
        desc['status'] = packet.status.name
        if packet.metadata is None:
            desc['metadata'] = None
        else:
            assert type(packet.metadata) is dict
            desc['metadata'] = {k: v.hex() for k, v in packet.metadata.items()}
    # Exactly the dataclass fields, nothing else smuggled in.
    assert set(vars(packet)) == set(type(packet).__dataclass_fields__)
    assert set(vars(packet.source)) == {'name', 'validity'}
    return desc


def samples(big):
    src = Source('127.0.0.1:2001', bytes(range(1, 9)))
    other = Source('[::1]:7000', b'\xff' * 8)
    long_name = 'member-' + 'x' * 300
    many = {f'key{i:04}': bytes([i % 256]) * (i % 7) for i in range(300)}
    shared = b'shared value created late'
    many['late-a'] = shared
    many['late-b'] = shared  # a LONG_BINGET: the memo is past 255 by now
    yield 'ping', Ping(source=src)
    yield 'ping_req', PingReq(source=src, target='127.0.0.1:2002')
    yield 'ack', Ack(source=other)
    yield 'gossip_suspect', Gossip(source=src, name='127.0.0.1:2003', clock=5,
                                   status=Status.SUSPECT,
                                   metadata={'a': b'x', 'b': b''})
    yield 'gossip_unknown_metadata', Gossip(source=src, name='n', clock=0,
                                            status=Status.OFFLINE,
                                            metadata=None)
    yield 'gossip_empty_metadata', Gossip(source=src, name='n', clock=1,
                                          status=Status.ONLINE, metadata={})
    # The member's own name object is shared with the source: a BINGET.
    yield 'gossip_about_self', Gossip(source=src, name=src.name, clock=7,
                                      status=Status.ONLINE,
                                      metadata={'port': b'2001'})
    yield 'gossip_many_metadata', Gossip(source=src, name=long_name,
                                         clock=2**64 - 1,
                                         status=Status.ONLINE, metadata=many)
    yield 'gossip_unicode', Gossip(source=other, name='ünï', clock=2**31,
                                   status=Status.ONLINE,
                                   metadata={'blob': bytes(1000),
                                             'ключ': '✓'.encode()})
    if big:
        # Larger than a pickle frame (64 KiB): several FRAME opcodes, with
        # the blob written between frames. Too big to commit as a vector.
        yield 'gossip_big_value', Gossip(source=other, name='big', clock=3,
                                         status=Status.ONLINE,
                                         metadata={'blob': bytes(70000),
                                                   'x': b'y'})
    for clock in (255, 256, 65535, 65536, 2**31 - 1, 2**32, 2**63):
        yield f'gossip_ack_{clock}', GossipAck(source=src, name='m',
                                               clock=clock)


def rejects():
    """Pickles the package writes happily but the Rust model refuses."""
    src = Source('127.0.0.1:2001', bytes(range(1, 9)))
    yield 'clock_too_big', Gossip(source=src, name='n', clock=2**64,
                                  status=Status.ONLINE, metadata=None)
    yield 'clock_negative', GossipAck(source=src, name='n', clock=-1)
    yield 'aggregate_status', Gossip(source=src, name='n', clock=1,
                                     status=Status.AVAILABLE, metadata=None)
    yield 'str_metadata_value', Gossip(source=src, name='n', clock=1,
                                       status=Status.ONLINE,
                                       metadata={'a': 'text'})
    yield 'bare_source', src
    yield 'bare_status', Status.ONLINE


def default_secrets():
    for node in (0, 1, 0x2fc00000001, 0x0242ac110002, 0xffffffffffff):
        real_getnode = uuid.getnode
        uuid.getnode = lambda node=node: node
        try:
            secret = Signatures(None).secret
        finally:
            uuid.getnode = real_getnode
        yield {'node': node, 'secret': secret.decode('ascii')}


def generate(big):
    assert __version__ == '0.6.3', __version__
    udp_pack = UdpPack(Signatures(SECRET))
    packets = []
    for name, packet in samples(big):
        packets.append({
            'name': name,
            'packet': describe(packet),
            'pickle': pickle.dumps(packet, udp_pack.pickle_protocol).hex(),
            'packed': bytes(udp_pack.pack(packet)).hex(),
        })
    json.dump({
        'version': __version__,
        'pickle_protocol': udp_pack.pickle_protocol,
        'secret': SECRET,
        'packets': packets,
        'rejects': [{'name': name,
                     'pickle': pickle.dumps(obj, udp_pack.pickle_protocol).hex()}
                    for name, obj in rejects()],
        'default_secrets': list(default_secrets()),
    }, sys.stdout, indent=1)
    print()


def check():
    results = []
    for item in json.load(sys.stdin):
        udp_pack = UdpPack(Signatures(item['secret']))
        results.append(describe(udp_pack.unpack(bytes.fromhex(item['packed']))))
    json.dump(results, sys.stdout)
    print()


if __name__ == '__main__':
    if sys.argv[1:] == ['generate']:
        generate(big=False)
    elif sys.argv[1:] == ['generate', '--big']:
        generate(big=True)
    elif sys.argv[1:] == ['check']:
        check()
    else:
        sys.exit(f'usage: {sys.argv[0]} generate [--big] | check')
