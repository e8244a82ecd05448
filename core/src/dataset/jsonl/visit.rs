//! The serde visitors that parse one line straight into the chunk's column buffers: keys,
//! the `tokens` array, and each column's value (a scalar, or a per-position array).

use std::borrow::Cow;

use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};

use super::*;

/// A key, borrowed from the line when it has no escapes.
struct KeySeed;

impl<'de> DeserializeSeed<'de> for KeySeed {
    type Value = Cow<'de, str>;
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for KeySeed {
    type Value = Cow<'de, str>;
    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a key")
    }
    fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(Cow::Borrowed(v))
    }
    fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Cow::Owned(v.to_string()))
    }
}

/// Implements the scalar `visit_*` methods by handing `Ok(Scalar)` (or `Err(NotScalar)` for
/// null and objects) to `self.scalar`; arrays are left to each visitor.
macro_rules! scalar_visits {
    () => {
        fn visit_bool<E: de::Error>(self, v: bool) -> Result<Self::Value, E> {
            self.scalar(Ok(Scalar::Bool(v)))
        }
        fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
            self.scalar(Ok(Scalar::Int(v)))
        }
        fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
            self.scalar(Ok(i64::try_from(v).map_or(Scalar::Big(v), Scalar::Int)))
        }
        fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
            self.scalar(Ok(Scalar::Float(v)))
        }
        fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
            self.scalar(Ok(Scalar::Str(Cow::Borrowed(v))))
        }
        fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
            self.scalar(Ok(Scalar::Str(Cow::Owned(v.to_string()))))
        }
        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            self.scalar(Err(NotScalar::Null))
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
            while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
            self.scalar(Err(NotScalar::Object))
        }
    };
}

/// An element of an array (tokens or a per-position list): a scalar, or what it is instead.
struct ElemSeed;

impl ElemSeed {
    fn scalar<'de, E>(
        self,
        r: Result<Scalar<'de>, NotScalar>,
    ) -> Result<Result<Scalar<'de>, NotScalar>, E> {
        Ok(r)
    }
}

impl<'de> DeserializeSeed<'de> for ElemSeed {
    type Value = Result<Scalar<'de>, NotScalar>;
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for ElemSeed {
    type Value = Result<Scalar<'de>, NotScalar>;
    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a number, bool or string")
    }
    scalar_visits!();
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(Err(NotScalar::Array))
    }
}

/// One line: an object whose values go to their columns.
pub(super) struct LineSeed<'s, 'a> {
    pub(super) st: &'s mut State<'a>,
}

impl<'de> DeserializeSeed<'de> for LineSeed<'_, '_> {
    type Value = ();
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for LineSeed<'_, '_> {
    type Value = ();
    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a JSON object (one datum per line)")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let st = self.st;
        let mut k = 0;
        while let Some(key) = map.next_key_seed(KeySeed)? {
            if key == "tokens" {
                if st.tokens_len.is_some() {
                    let e = DatasetError::DuplicateKey {
                        path: st.path.to_path_buf(),
                        line: st.line,
                        column: "tokens".into(),
                    };
                    return st.fail(e);
                }
                map.next_value_seed(TokensSeed { st: &mut *st })?;
                continue;
            }
            let guess = st.order.get(k).copied();
            let col = match guess {
                Some(g) if st.schema.names[g] == key => Some(g),
                _ => st.schema.index.get(key.as_ref()).copied(),
            };
            let Some(col) = col else {
                let e = if key == "lengths" {
                    DatasetError::ReservedKey {
                        path: st.path.to_path_buf(),
                        line: st.line,
                    }
                } else {
                    DatasetError::ExtraKey {
                        path: st.path.to_path_buf(),
                        line: st.line,
                        column: key.into_owned(),
                    }
                };
                return st.fail(e);
            };
            if st.seen[col] {
                let e = DatasetError::DuplicateKey {
                    path: st.path.to_path_buf(),
                    line: st.line,
                    column: key.into_owned(),
                };
                return st.fail(e);
            }
            st.seen[col] = true;
            if k < st.order.len() {
                st.order[k] = col;
            } else {
                st.order.push(col);
            }
            k += 1;
            map.next_value_seed(CellSeed { st: &mut *st, col })?;
        }
        Ok(())
    }
}

/// The `tokens` value: a non-empty array of integers in `0..2^32`.
struct TokensSeed<'s, 'a> {
    st: &'s mut State<'a>,
}

impl TokensSeed<'_, '_> {
    fn scalar<E: de::Error>(self, r: Result<Scalar<'_>, NotScalar>) -> Result<(), E> {
        let found = match r {
            Ok(s) => s.describe(),
            Err(n) => n.describe().to_string(),
        };
        let e = DatasetError::TokensNotArray {
            path: self.st.path.to_path_buf(),
            line: self.st.line,
            found,
        };
        self.st.fail(e)
    }
}

impl<'de> DeserializeSeed<'de> for TokensSeed<'_, '_> {
    type Value = ();
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for TokensSeed<'_, '_> {
    type Value = ();
    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("an array of token ids")
    }
    scalar_visits!();
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let st = self.st;
        let mut index = 0;
        while let Some(t) = seq.next_element_seed(ElemSeed)? {
            let token = match &t {
                Ok(Scalar::Int(x)) => u32::try_from(*x).ok(),
                _ => None,
            };
            let Some(token) = token else {
                let found = match t {
                    Ok(s) => s.describe(),
                    Err(n) => n.describe().to_string(),
                };
                let e = DatasetError::BadToken {
                    path: st.path.to_path_buf(),
                    line: st.line,
                    index,
                    found,
                };
                return st.fail(e);
            };
            st.chunk.tokens.push(token);
            index += 1;
        }
        if index == 0 {
            let e = DatasetError::EmptyTokens {
                path: st.path.to_path_buf(),
                line: st.line,
            };
            return st.fail(e);
        }
        st.tokens_len = Some(index);
        Ok(())
    }
}

/// The value of column `col`: a scalar (per-datum) or an array (per-position).
struct CellSeed<'s, 'a> {
    st: &'s mut State<'a>,
    col: usize,
}

impl CellSeed<'_, '_> {
    fn scalar<E: de::Error>(self, r: Result<Scalar<'_>, NotScalar>) -> Result<(), E> {
        match r {
            Ok(s) => self.st.push(self.col, Scope::PerDatum, s),
            Err(n) => self.st.bad_value(
                self.col,
                format!(
                    "{} is not a value (use an int, bool, string, float, or an array as long as \
                     `tokens`)",
                    n.describe()
                ),
            ),
        }
    }
}

impl<'de> DeserializeSeed<'de> for CellSeed<'_, '_> {
    type Value = ();
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for CellSeed<'_, '_> {
    type Value = ();
    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a column value")
    }
    scalar_visits!();
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let (st, col) = (self.st, self.col);
        let mut len = 0;
        while let Some(v) = seq.next_element_seed(ElemSeed)? {
            match v {
                Ok(s) => st.push(col, Scope::PerPosition, s)?,
                Err(n) => {
                    return st.bad_value(
                        col,
                        format!(
                            "element {len} is {}; per-position values are ints, bools, strings \
                             or floats",
                            n.describe()
                        ),
                    )
                }
            }
            len += 1;
        }
        st.list_len[col] = Some(len);
        Ok(())
    }
}
