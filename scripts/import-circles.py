#!/usr/bin/env python3
"""Import circles: module A uses module B and B uses A (neither an ancestor of the other),
in each crate root under crates/*/src (lib.rs, main.rs, bin/*). Reads `use` trees and
`crate::`/`super::`/`self::` paths as text (test modules aside); exits 1 if any circle.

    scripts/import-circles.py      # from the repository's root
"""
import os, re, sys, glob

def modules(root_file):
    """module path (tuple) -> file, for the crate whose root is root_file."""
    out = {(): root_file}
    stack = [((), root_file)]
    while stack:
        mod, f = stack.pop()
        src = open(f).read()
        d = os.path.dirname(f)
        base = os.path.basename(f)
        sub_dir = d if base in ('lib.rs', 'main.rs', 'mod.rs') else os.path.join(d, base[:-3])
        for m in re.finditer(r'^\s*(?:pub(?:\([^)]*\))?\s+)?mod\s+(\w+)\s*;', src, re.M):
            name = m.group(1)
            pre = src[:m.start()].rstrip().split('\n')[-1]
            path_attr = re.search(r'#\[path\s*=\s*"([^"]+)"\]', pre)
            if path_attr:
                cand = [os.path.join(d, path_attr.group(1))]
            else:
                cand = [os.path.join(sub_dir, name + '.rs'), os.path.join(sub_dir, name, 'mod.rs')]
            for c in cand:
                if os.path.exists(c):
                    out[mod + (name,)] = c
                    stack.append((mod + (name,), c))
                    break
    return out

def expand(tree):
    """Expands a use tree 'a::{b, c::{d}}' into paths."""
    tree = tree.strip()
    i = tree.find('{')
    if i < 0:
        return [tree.split(' as ')[0].strip()]
    prefix, inner = tree[:i], tree[i+1:tree.rfind('}')]
    parts, depth, cur = [], 0, ''
    for ch in inner:
        if ch == ',' and depth == 0:
            parts.append(cur); cur = ''
            continue
        depth += ch == '{'; depth -= ch == '}'
        cur += ch
    parts.append(cur)
    return [p for part in parts if part.strip() for p in expand(prefix + part.strip())]

def resolve(mod, path, mods):
    segs = [s for s in path.split('::') if s]
    if not segs:
        return None
    if segs[0] == 'crate':
        cur, segs = (), segs[1:]
    elif segs[0] in ('super', 'self'):
        cur = mod
        while segs and segs[0] in ('super', 'self'):
            if segs[0] == 'super':
                cur = cur[:-1]
            segs = segs[1:]
    elif mod + (segs[0],) in mods:
        cur = mod
    else:
        return None
    for s in segs:
        if cur + (s,) in mods:
            cur = cur + (s,)
        else:
            break
    return cur

found = 0
roots = glob.glob('crates/*/src/lib.rs') + glob.glob('crates/*/src/main.rs') + \
    glob.glob('crates/*/src/bin/*.rs') + glob.glob('crates/*/src/bin/*/main.rs')
for root in sorted(roots):
    mods = modules(root)
    edges = {}
    for mod, f in mods.items():
        src = re.sub(r'//[^\n]*', '', open(f).read())
        # the file's own text, without its test module
        src = src.split('#[cfg(test)]\nmod tests')[0]
        paths = []
        for m in re.finditer(r'\buse\s+([^;]+);', src):
            paths += expand(m.group(1))
        paths += re.findall(r'\b((?:crate|super|self)(?:::\w+)+)', src)
        for p in paths:
            target = resolve(mod, p, mods)
            if target is None or target == mod:
                continue
            if target == mod[:len(target)] or mod == target[:len(mod)]:
                continue  # an ancestor or a descendant
            edges.setdefault(mod, set()).add(target)
    for a in edges:
        for b in edges[a]:
            if a in edges.get(b, ()) and a < b:
                found += 1
                print(f"{root}: {'::'.join(a)} <-> {'::'.join(b)}")
print(f"{found} import circle(s) between two modules")
sys.exit(1 if found else 0)
