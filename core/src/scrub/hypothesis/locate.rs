//! Positions of the values of a hypothesis file. serde hands over parsed values without
//! their positions, so after a successful parse the text is scanned once more into a tree of
//! bracketed groups and keyed items, which the builder walks alongside the parsed
//! hypothesis to point its errors at a line and column. The scan is lenient: where it cannot
//! follow the text, errors just go without a position.

/// A 1-based line and column (in characters, as ron counts them).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Pos {
    pub line: usize,
    pub column: usize,
}

/// One value of the file and where it starts.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Value {
    pub at: Pos,
    pub shape: Shape,
}

/// What a value looks like, as far as locating needs.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Shape {
    Ident(String),
    Str(String),
    Other,
    /// `Tag(...)`, `(...)`, `[...]` or `{...}`.
    Group {
        tag: Option<String>,
        items: Vec<Item>,
    },
}

/// An element of a group: `key: value` (struct fields, map entries) or a bare value.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Item {
    pub key: Option<(String, Pos)>,
    pub value: Value,
}

impl Value {
    fn items(&self) -> &[Item] {
        match &self.shape {
            Shape::Group { items, .. } => items,
            _ => &[],
        }
    }

    /// The tag of a group, `Node` in `Node(...)`.
    pub fn tag(&self) -> Option<&str> {
        match &self.shape {
            Shape::Group { tag, .. } => tag.as_deref(),
            _ => None,
        }
    }

    /// The value of field or map entry `key`.
    pub fn field(&self, key: &str) -> Option<&Value> {
        self.items()
            .iter()
            .find(|i| i.key.as_ref().is_some_and(|(k, _)| k == key))
            .map(|i| &i.value)
    }

    /// Where the key `key` is written.
    pub fn key_at(&self, key: &str) -> Option<Pos> {
        self.items()
            .iter()
            .find_map(|i| i.key.as_ref().filter(|(k, _)| k == key).map(|(_, p)| *p))
    }

    /// The `i`-th element of a list.
    pub fn element(&self, i: usize) -> Option<&Value> {
        self.items().get(i).map(|i| &i.value)
    }

    /// The string this value spells, looking through `Some(..)`.
    pub fn string(&self) -> Option<&str> {
        match &self.shape {
            Shape::Str(s) => Some(s),
            Shape::Group {
                tag: Some(t),
                items,
            } if t == "Some" && items.len() == 1 => items[0].value.string(),
            _ => None,
        }
    }
}

/// The value the whole file spells, or `None` where the text is not understood.
pub(crate) fn scan(text: &str) -> Option<Value> {
    let mut p = Parser {
        toks: lex(text)?,
        i: 0,
    };
    // Inner attributes such as `#![enable(implicit_some)]` come before the value.
    while p.peek() == Some(&Tok::Punct('#')) {
        p.i += 1;
        if p.peek() == Some(&Tok::Punct('!')) {
            p.i += 1;
        }
        p.value()?;
    }
    p.value()
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Open(char),
    Close(char),
    Comma,
    Colon,
    Ident(String),
    Str(String),
    Punct(char),
    Other,
}

struct Lexer<'t> {
    chars: std::iter::Peekable<std::str::Chars<'t>>,
    pos: Pos,
}

impl Lexer<'_> {
    fn bump(&mut self) -> Option<char> {
        let c = self.chars.next()?;
        if c == '\n' {
            self.pos.line += 1;
            self.pos.column = 1;
        } else {
            self.pos.column += 1;
        }
        Some(c)
    }

    fn peek(&mut self) -> Option<char> {
        self.chars.peek().copied()
    }

    /// Skips a comment after its first `/`; `/* */` comments nest in RON.
    fn comment(&mut self) -> Option<()> {
        match self.bump()? {
            '/' => {
                while self.peek().is_some_and(|c| c != '\n') {
                    self.bump();
                }
            }
            '*' => {
                let mut depth = 1;
                while depth > 0 {
                    match self.bump()? {
                        '*' if self.peek() == Some('/') => {
                            self.bump();
                            depth -= 1;
                        }
                        '/' if self.peek() == Some('*') => {
                            self.bump();
                            depth += 1;
                        }
                        _ => {}
                    }
                }
            }
            _ => return None,
        }
        Some(())
    }

    /// A quoted string after its opening `"`.
    fn string(&mut self) -> Option<String> {
        let mut s = String::new();
        loop {
            match self.bump()? {
                '"' => return Some(s),
                '\\' => {
                    let e = self.bump()?;
                    s.push(match e {
                        'n' => '\n',
                        't' => '\t',
                        'r' => '\r',
                        '0' => '\0',
                        // Unicode and byte escapes are left as written: names that use them
                        // merely lose their position.
                        c => c,
                    });
                }
                c => s.push(c),
            }
        }
    }

    /// A raw string `r#"..."#` after its `r`.
    fn raw_string(&mut self) -> Option<String> {
        let mut hashes = 0;
        while self.peek() == Some('#') {
            self.bump();
            hashes += 1;
        }
        if self.bump()? != '"' {
            return None;
        }
        let mut s = String::new();
        loop {
            let c = self.bump()?;
            if c == '"' {
                let mut closing = 0;
                while closing < hashes && self.peek() == Some('#') {
                    self.bump();
                    closing += 1;
                }
                if closing == hashes {
                    return Some(s);
                }
                s.push('"');
                s.extend(std::iter::repeat_n('#', closing));
            } else {
                s.push(c);
            }
        }
    }
}

fn is_ident_start(c: char) -> bool {
    c.is_alphabetic() || c == '_'
}

fn is_ident_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

fn lex(text: &str) -> Option<Vec<(Tok, Pos)>> {
    let mut lx = Lexer {
        chars: text.chars().peekable(),
        pos: Pos { line: 1, column: 1 },
    };
    let mut out = Vec::new();
    while let Some(c) = lx.peek() {
        let at = lx.pos;
        if c.is_whitespace() {
            lx.bump();
            continue;
        }
        lx.bump();
        let tok = match c {
            '/' => {
                lx.comment()?;
                continue;
            }
            '(' | '[' | '{' => Tok::Open(c),
            ')' | ']' | '}' => Tok::Close(c),
            ',' => Tok::Comma,
            ':' => Tok::Colon,
            '"' => Tok::Str(lx.string()?),
            '\'' => {
                if lx.bump()? == '\\' {
                    lx.bump()?;
                }
                while lx.bump()? != '\'' {}
                Tok::Other
            }
            'r' if matches!(lx.peek(), Some('"')) => Tok::Str(lx.raw_string()?),
            'r' if matches!(lx.peek(), Some('#')) => {
                // `r#"..."#` is a raw string, `r#name` a raw identifier.
                let mut ahead = lx.chars.clone();
                while ahead.peek() == Some(&'#') {
                    ahead.next();
                }
                if ahead.peek() == Some(&'"') {
                    Tok::Str(lx.raw_string()?)
                } else {
                    lx.bump();
                    let mut s = String::new();
                    while let Some(c) = lx.peek().filter(|&c| is_ident_char(c)) {
                        s.push(c);
                        lx.bump();
                    }
                    Tok::Ident(s)
                }
            }
            'b' if matches!(lx.peek(), Some('"')) => {
                lx.bump();
                Tok::Str(lx.string()?)
            }
            c if is_ident_start(c) => {
                let mut s = String::from(c);
                while let Some(c) = lx.peek().filter(|&c| is_ident_char(c)) {
                    s.push(c);
                    lx.bump();
                }
                Tok::Ident(s)
            }
            '#' | '!' => Tok::Punct(c),
            _ => {
                // Numbers and anything else: up to the next delimiter.
                while lx
                    .peek()
                    .is_some_and(|c| !c.is_whitespace() && !"()[]{},:\"/".contains(c))
                {
                    lx.bump();
                }
                Tok::Other
            }
        };
        out.push((tok, at));
    }
    Some(out)
}

struct Parser {
    toks: Vec<(Tok, Pos)>,
    i: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.i).map(|t| &t.0)
    }

    fn next(&mut self) -> Option<(Tok, Pos)> {
        let t = self.toks.get(self.i).cloned();
        self.i += 1;
        t
    }

    fn value(&mut self) -> Option<Value> {
        let (tok, at) = self.next()?;
        let shape = match tok {
            Tok::Ident(s) if self.peek() == Some(&Tok::Open('(')) => {
                self.i += 1;
                Shape::Group {
                    tag: Some(s),
                    items: self.items(')')?,
                }
            }
            Tok::Ident(s) => Shape::Ident(s),
            Tok::Str(s) => Shape::Str(s),
            Tok::Open(c) => Shape::Group {
                tag: None,
                items: self.items(closer(c))?,
            },
            Tok::Other | Tok::Punct(_) => Shape::Other,
            Tok::Close(_) | Tok::Comma | Tok::Colon => return None,
        };
        Some(Value { at, shape })
    }

    fn items(&mut self, close: char) -> Option<Vec<Item>> {
        let mut items = Vec::new();
        loop {
            if self.peek() == Some(&Tok::Close(close)) {
                self.i += 1;
                return Some(items);
            }
            let v = self.value()?;
            let item = if self.peek() == Some(&Tok::Colon) {
                self.i += 1;
                let key = match v.shape {
                    Shape::Ident(k) | Shape::Str(k) => Some((k, v.at)),
                    _ => None,
                };
                Item {
                    key,
                    value: self.value()?,
                }
            } else {
                Item {
                    key: None,
                    value: v,
                }
            };
            items.push(item);
            match self.peek()? {
                Tok::Comma => self.i += 1,
                Tok::Close(c) if *c == close => {}
                _ => return None,
            }
        }
    }
}

fn closer(open: char) -> char {
    match open {
        '(' => ')',
        '[' => ']',
        _ => '}',
    }
}
