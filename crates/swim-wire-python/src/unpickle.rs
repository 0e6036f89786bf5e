//! A strict, bounded pickle machine for the subset of protocol 4/5 that the package's packets
//! need. It never calls anything: the whitelisted globals are tags, `NEWOBJ` makes an empty
//! tagged object, `BUILD` attaches its state dict, and `REDUCE` is only understood as
//! `Status(<int>)`. Values live in an arena and the stack, memo and containers hold indices,
//! so sharing (memo gets) and mutation after memoizing behave as in Python, and nothing is
//! ever walked recursively here.

use swim_core::Status;

use crate::error::shorten;
use crate::vocab::op::*;
use crate::vocab::{Class, Id, Value};
use crate::PyWireError;

/// Most values (strings, bytes, ints, containers, objects) one pickle may create.
pub const MAX_VALUES: usize = 1 << 16;
/// Most memo entries one pickle may create.
pub const MAX_MEMO: usize = 1 << 16;
/// Deepest stack allowed. The pickler pushes up to 1000 dict items (2000 values) before one
/// `SETITEMS`, so this leaves room for that and little more.
pub const MAX_STACK: usize = 2048 + 32;
/// Most open `MARK`s at once (the package's packets need 3).
pub const MAX_MARKS: usize = 8;
/// Deepest nesting of containers and objects (the package's packets need 4).
pub const MAX_DEPTH: u8 = 8;
/// Longest integer accepted by `LONG1`, in bytes (a `u64` clock needs 9).
pub const MAX_LONG_BYTES: usize = 16;

/// The values of one unpickled pickle; `root` is what `STOP` returned.
pub(crate) struct Unpickled {
    pub(crate) values: Vec<Value>,
    pub(crate) root: Id,
}

struct Machine<'a> {
    data: &'a [u8],
    pos: usize,
    /// Position of the opcode being executed, for error messages.
    at: usize,
    values: Vec<Value>,
    depths: Vec<u8>,
    stack: Vec<Id>,
    marks: Vec<usize>,
    memo: Vec<Id>,
}

/// Runs the pickle in `data` and returns its values, refusing anything outside the subset.
pub(crate) fn unpickle(data: &[u8]) -> Result<Unpickled, PyWireError> {
    let mut m = Machine {
        data,
        pos: 0,
        at: 0,
        values: Vec::new(),
        depths: Vec::new(),
        stack: Vec::new(),
        marks: Vec::new(),
        memo: Vec::new(),
    };
    if m.byte()? != PROTO {
        return Err(m.malformed("a pickle must start with PROTO"));
    }
    let proto = m.byte()?;
    if !(4..=5).contains(&proto) {
        return Err(PyWireError::Protocol(proto));
    }
    loop {
        m.at = m.pos;
        if m.step()? {
            break;
        }
    }
    if m.pos != data.len() {
        return Err(PyWireError::Trailing(data.len() - m.pos));
    }
    let root = match (m.stack.as_slice(), m.marks.is_empty()) {
        ([root], true) => *root,
        _ => return Err(m.malformed("STOP with more than one value or an open MARK")),
    };
    Ok(Unpickled {
        values: m.values,
        root,
    })
}

impl Machine<'_> {
    fn malformed(&self, reason: &'static str) -> PyWireError {
        PyWireError::Malformed {
            offset: self.at,
            reason,
        }
    }

    fn take(&mut self, n: usize) -> Result<&[u8], PyWireError> {
        let end = self
            .pos
            .checked_add(n)
            .filter(|&end| end <= self.data.len())
            .ok_or(PyWireError::Truncated(self.data.len()))?;
        let bytes = &self.data[self.pos..end];
        self.pos = end;
        Ok(bytes)
    }

    fn byte(&mut self) -> Result<u8, PyWireError> {
        Ok(self.take(1)?[0])
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], PyWireError> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.take(N)?);
        Ok(out)
    }

    /// Adds a value to the arena and pushes it.
    fn push_new(&mut self, value: Value, depth: u8) -> Result<(), PyWireError> {
        if self.values.len() >= MAX_VALUES {
            return Err(PyWireError::Limit {
                what: "value count",
                limit: MAX_VALUES,
            });
        }
        if depth > MAX_DEPTH {
            return Err(PyWireError::Limit {
                what: "nesting depth",
                limit: usize::from(MAX_DEPTH),
            });
        }
        self.values.push(value);
        self.depths.push(depth);
        self.push(self.values.len() - 1)
    }

    fn push(&mut self, id: Id) -> Result<(), PyWireError> {
        if self.stack.len() >= MAX_STACK {
            return Err(PyWireError::Limit {
                what: "stack depth",
                limit: MAX_STACK,
            });
        }
        self.stack.push(id);
        Ok(())
    }

    /// Pops one value, never below the innermost open MARK.
    fn pop(&mut self) -> Result<Id, PyWireError> {
        let fence = self.marks.last().copied().unwrap_or(0);
        if self.stack.len() <= fence {
            return Err(self.malformed("stack underflow"));
        }
        self.stack.pop().ok_or(self.malformed("stack underflow"))
    }

    fn top(&self) -> Result<Id, PyWireError> {
        let fence = self.marks.last().copied().unwrap_or(0);
        match self.stack.last() {
            Some(&id) if self.stack.len() > fence => Ok(id),
            _ => Err(self.malformed("stack underflow")),
        }
    }

    /// Pops everything above the innermost MARK, and the MARK.
    fn pop_mark(&mut self) -> Result<Vec<Id>, PyWireError> {
        let mark = self.marks.pop().ok_or(self.malformed("no MARK to pop"))?;
        Ok(self.stack.split_off(mark))
    }

    fn string(&mut self, len: usize) -> Result<(), PyWireError> {
        let start = self.pos;
        let bytes = self.take(len)?;
        let text = std::str::from_utf8(bytes).map_err(|_| PyWireError::Utf8(start))?;
        let text = text.to_owned();
        self.push_new(Value::Str(text), 0)
    }

    fn bytes(&mut self, len: usize) -> Result<(), PyWireError> {
        let bytes = self.take(len)?.to_vec();
        self.push_new(Value::Bytes(bytes), 0)
    }

    fn memo_get(&mut self, index: usize) -> Result<(), PyWireError> {
        let id = *self
            .memo
            .get(index)
            .ok_or(self.malformed("memo get of an unset index"))?;
        self.push(id)
    }

    fn str_value(&self, id: Id) -> Result<&str, PyWireError> {
        match &self.values[id] {
            Value::Str(s) => Ok(s),
            _ => Err(self.malformed("STACK_GLOBAL needs two strings")),
        }
    }

    /// Adds key/value pairs to the dict at `dict`.
    fn set_items(&mut self, dict: Id, items: &[Id]) -> Result<(), PyWireError> {
        if !items.chunks_exact(2).remainder().is_empty() {
            return Err(self.malformed("SETITEMS with an odd number of values"));
        }
        let child_depth = items.iter().map(|&id| self.depths[id]).max().unwrap_or(0);
        let depth = self.depths[dict].max(child_depth.saturating_add(1));
        if depth > MAX_DEPTH {
            return Err(PyWireError::Limit {
                what: "nesting depth",
                limit: usize::from(MAX_DEPTH),
            });
        }
        let Value::Dict(entries) = &mut self.values[dict] else {
            return Err(self.malformed("SETITEM(S) on something that is not a dict"));
        };
        entries.extend(items.chunks_exact(2).map(|pair| (pair[0], pair[1])));
        self.depths[dict] = depth;
        Ok(())
    }

    /// Executes one opcode; returns whether it was STOP.
    fn step(&mut self) -> Result<bool, PyWireError> {
        let opcode = self.byte()?;
        match opcode {
            STOP => return Ok(true),
            FRAME => {
                // Frames only group reads; check the length and read on.
                let len = u64::from_le_bytes(self.array()?);
                if len > (self.data.len() - self.pos) as u64 {
                    return Err(PyWireError::Truncated(self.data.len()));
                }
            }
            MARK => {
                if self.marks.len() >= MAX_MARKS {
                    return Err(PyWireError::Limit {
                        what: "open MARK",
                        limit: MAX_MARKS,
                    });
                }
                self.marks.push(self.stack.len());
            }
            MEMOIZE => {
                if self.memo.len() >= MAX_MEMO {
                    return Err(PyWireError::Limit {
                        what: "memo size",
                        limit: MAX_MEMO,
                    });
                }
                let id = self.top()?;
                self.memo.push(id);
            }
            BINGET => {
                let index = self.byte()?;
                self.memo_get(usize::from(index))?;
            }
            LONG_BINGET => {
                let index = u32::from_le_bytes(self.array()?);
                self.memo_get(index as usize)?;
            }
            NONE => self.push_new(Value::None, 0)?,
            BININT1 => {
                let v = self.byte()?;
                self.push_new(Value::Int(i128::from(v)), 0)?;
            }
            BININT2 => {
                let v = u16::from_le_bytes(self.array()?);
                self.push_new(Value::Int(i128::from(v)), 0)?;
            }
            BININT => {
                let v = i32::from_le_bytes(self.array()?);
                self.push_new(Value::Int(i128::from(v)), 0)?;
            }
            LONG1 => {
                let len = usize::from(self.byte()?);
                if len > MAX_LONG_BYTES {
                    return Err(PyWireError::Limit {
                        what: "integer length in bytes",
                        limit: MAX_LONG_BYTES,
                    });
                }
                let digits = self.take(len)?;
                // Little-endian two's complement, sign-extended to 16 bytes.
                let fill = match digits.last() {
                    Some(&last) if last & 0x80 != 0 => 0xff,
                    _ => 0,
                };
                let mut full = [fill; 16];
                full[..len].copy_from_slice(digits);
                self.push_new(Value::Int(i128::from_le_bytes(full)), 0)?;
            }
            SHORT_BINUNICODE => {
                let len = self.byte()?;
                self.string(usize::from(len))?;
            }
            BINUNICODE => {
                let len = u32::from_le_bytes(self.array()?);
                self.string(len as usize)?;
            }
            SHORT_BINBYTES => {
                let len = self.byte()?;
                self.bytes(usize::from(len))?;
            }
            BINBYTES => {
                let len = u32::from_le_bytes(self.array()?);
                self.bytes(len as usize)?;
            }
            EMPTY_TUPLE => self.push_new(Value::Tuple(Vec::new()), 1)?,
            TUPLE1 => {
                let item = self.pop()?;
                let depth = self.depths[item].saturating_add(1);
                self.push_new(Value::Tuple(vec![item]), depth)?;
            }
            EMPTY_DICT => self.push_new(Value::Dict(Vec::new()), 1)?,
            SETITEM => {
                let value = self.pop()?;
                let key = self.pop()?;
                let dict = self.top()?;
                self.set_items(dict, &[key, value])?;
            }
            SETITEMS => {
                let items = self.pop_mark()?;
                let dict = self.top()?;
                self.set_items(dict, &items)?;
            }
            STACK_GLOBAL => {
                let name = self.pop()?;
                let module = self.pop()?;
                let (module, name) = (self.str_value(module)?, self.str_value(name)?);
                let class = Class::lookup(module, name).ok_or_else(|| PyWireError::Global {
                    module: shorten(module),
                    name: shorten(name),
                })?;
                self.push_new(Value::Class(class), 0)?;
            }
            NEWOBJ => {
                let args = self.pop()?;
                let class = self.pop()?;
                let class = match (&self.values[class], &self.values[args]) {
                    (Value::Class(Class::Status), _) => {
                        return Err(self.malformed("NEWOBJ of Status"));
                    }
                    (Value::Class(class), Value::Tuple(args)) if args.is_empty() => *class,
                    _ => return Err(self.malformed("NEWOBJ needs a packet class and ()")),
                };
                self.push_new(Value::Object { class, state: None }, 1)?;
            }
            REDUCE => {
                let args = self.pop()?;
                let callable = self.pop()?;
                let Value::Class(Class::Status) = self.values[callable] else {
                    return Err(self.malformed("REDUCE is only allowed on Status"));
                };
                let status = match &self.values[args] {
                    Value::Tuple(args) => match args.as_slice() {
                        [arg] => match self.values[*arg] {
                            Value::Int(1) => Status::Online,
                            Value::Int(2) => Status::Offline,
                            Value::Int(4) => Status::Suspect,
                            Value::Int(_) => {
                                return Err(PyWireError::Schema(
                                    "status is not ONLINE, OFFLINE or SUSPECT".into(),
                                ))
                            }
                            _ => return Err(self.malformed("Status() of a non-integer")),
                        },
                        _ => return Err(self.malformed("Status() needs one argument")),
                    },
                    _ => return Err(self.malformed("REDUCE needs an argument tuple")),
                };
                self.push_new(Value::Status(status), 0)?;
            }
            BUILD => {
                let state = self.pop()?;
                let object = self.top()?;
                let depth = self.depths[state]
                    .saturating_add(1)
                    .max(self.depths[object]);
                if depth > MAX_DEPTH {
                    return Err(PyWireError::Limit {
                        what: "nesting depth",
                        limit: usize::from(MAX_DEPTH),
                    });
                }
                if !matches!(self.values[state], Value::Dict(_)) {
                    return Err(self.malformed("BUILD needs a state dict"));
                }
                let Value::Object { state: slot, .. } = &mut self.values[object] else {
                    return Err(self.malformed("BUILD on something that is not an object"));
                };
                if slot.replace(state).is_some() {
                    return Err(self.malformed("BUILD twice on one object"));
                }
                self.depths[object] = depth;
            }
            PROTO => return Err(self.malformed("PROTO after the start")),
            opcode => {
                return Err(PyWireError::Opcode {
                    opcode,
                    offset: self.at,
                })
            }
        }
        Ok(false)
    }
}
