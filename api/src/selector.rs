//! # Label and field selectors
//!
//! Kubernetes objects are not found by walking a tree of folders: a client asks for "every pod
//! whose labels say `app=web`" or "every event about the object named `web`". Those questions
//! travel as two query parameters of a LIST or WATCH request:
//!
//! - `labelSelector=app=web,tier!=cache,env in (prod,staging),!canary` filters on
//!   `metadata.labels`. The operators are `=` / `==` (equal), `!=` (not equal, and also true
//!   when the label is missing), `in (..)`, `notin (..)` (true when missing), a bare key
//!   (the label exists) and `!key` (it does not). Requirements are separated by commas and
//!   all of them must hold (AND). There is no OR: Kubernetes keeps selectors cheap to evaluate.
//! - `fieldSelector=metadata.name=web,status.phase!=Succeeded` filters on a few chosen fields
//!   of the object itself, with `=`, `==` and `!=` only. Each kind supports a short, fixed list
//!   of fields (the API server checks it with [`FieldSelector::check_supported`]), because the
//!   real kube-apiserver can only index and filter on fields it knows about.
//!
//! The same label selector also appears *inside* objects, as `spec.selector` of a Deployment
//! (`{matchLabels: {...}, matchExpressions: [...]}`, the type [`meta::LabelSelector`]). That is
//! the structured form of the same idea; [`Selector::from_label_selector`] turns it into a
//! [`Selector`] so one matching routine serves both.
//!
//! Parsing follows kube-apiserver: keys and values are validated (a key is an optional
//! DNS-subdomain prefix and a `/`, then a name of at most 63 characters; a value is at most 63
//! characters), and errors say `unable to parse requirement: ...` with the offending part, so
//! `kubectl get pods -l 'bad key=x'` fails here the way it fails against a real cluster.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use serde_json::Value;

use crate::meta;

/// Why a selector could not be parsed or is not allowed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SelectorError {
    /// A requirement is shaped correctly but names an invalid key or value, or has the wrong
    /// number of values for its operator.
    #[error("unable to parse requirement: {0}")]
    InvalidRequirement(String),
    /// The label selector text does not follow the grammar (`found ')', expected: ...`).
    #[error("unable to parse label selector {input:?}: {message}")]
    Syntax { input: String, message: String },
    /// A `matchExpressions` entry uses an operator other than In, NotIn, Exists, DoesNotExist.
    #[error("{0:?} is not a valid label selector operator")]
    UnknownOperator(String),
    /// The field selector text does not follow the grammar.
    #[error("invalid field selector {input:?}: {message}")]
    FieldSyntax { input: String, message: String },
    /// The field selector names a field this kind cannot be filtered on (HTTP 400).
    #[error("field label not supported: {0}")]
    UnsupportedField(String),
}

// ---------------------------------------------------------------------------------------------
// Validation of label keys and values
// ---------------------------------------------------------------------------------------------

/// True for `[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?`: the shape shared by label names and
/// label values.
fn is_label_name_like(s: &str) -> bool {
    let bytes = s.as_bytes();
    match (bytes.first(), bytes.last()) {
        (Some(first), Some(last)) => {
            first.is_ascii_alphanumeric()
                && last.is_ascii_alphanumeric()
                && bytes
                    .iter()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
        }
        _ => false,
    }
}

/// True for a DNS-1123 subdomain (`example.com`): lowercase labels joined by dots, ≤ 253 chars.
fn is_dns1123_subdomain(s: &str) -> bool {
    s.len() <= 253
        && !s.is_empty()
        && s.split('.').all(|part| {
            let b = part.as_bytes();
            match (b.first(), b.last()) {
                (Some(f), Some(l)) => {
                    (f.is_ascii_lowercase() || f.is_ascii_digit())
                        && (l.is_ascii_lowercase() || l.is_ascii_digit())
                        && b.iter()
                            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-')
                }
                _ => false,
            }
        })
}

/// Checks a label key such as `app` or `app.kubernetes.io/name` (a "qualified name").
///
/// The error text says which part is wrong, as Kubernetes' does.
pub fn validate_label_key(key: &str) -> Result<(), String> {
    let (prefix, name) = match key.split_once('/') {
        None => (None, key),
        Some((prefix, name)) => (Some(prefix), name),
    };
    if let Some(prefix) = prefix {
        if prefix.is_empty() {
            return Err(format!("invalid label key {key:?}: prefix part must be non-empty"));
        }
        if !is_dns1123_subdomain(prefix) {
            return Err(format!(
                "invalid label key {key:?}: prefix part must be a lowercase DNS subdomain of at most 253 \
                 characters (e.g. 'example.com')"
            ));
        }
    }
    if name.is_empty() {
        return Err(format!("invalid label key {key:?}: name part must be non-empty"));
    }
    if name.len() > 63 {
        return Err(format!(
            "invalid label key {key:?}: name part must be no more than 63 characters"
        ));
    }
    if !is_label_name_like(name) {
        return Err(format!(
            "invalid label key {key:?}: name part must consist of alphanumeric characters, '-', '_' or '.', \
             and must start and end with an alphanumeric character"
        ));
    }
    Ok(())
}

/// Checks a label value: empty, or at most 63 characters shaped like a label name.
pub fn validate_label_value(value: &str) -> Result<(), String> {
    if value.len() > 63 {
        return Err(format!(
            "invalid label value {value:?}: must be no more than 63 characters"
        ));
    }
    if !value.is_empty() && !is_label_name_like(value) {
        return Err(format!(
            "invalid label value {value:?}: a valid label must be an empty string or consist of alphanumeric \
             characters, '-', '_' or '.', and must start and end with an alphanumeric character"
        ));
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Label selectors
// ---------------------------------------------------------------------------------------------

/// The operator of one label requirement.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Operator {
    /// `key=value` (also written `key==value`).
    Equals,
    /// `key!=value`: also true when the label is missing.
    NotEquals,
    /// `key in (a,b)`.
    In,
    /// `key notin (a,b)`: also true when the label is missing.
    NotIn,
    /// `key`: the label is present, whatever its value.
    Exists,
    /// `!key`: the label is absent.
    DoesNotExist,
}

/// One clause of a label selector, e.g. `env in (prod,staging)`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Requirement {
    key: String,
    operator: Operator,
    /// Sorted and without duplicates, so two spellings of the same set print the same.
    values: Vec<String>,
}

impl Requirement {
    /// Builds a requirement, validating the key, the values, and that the operator has the
    /// right number of values (one for `=`/`!=`, at least one for `in`/`notin`, none for
    /// exists/does-not-exist).
    pub fn new(key: impl Into<String>, operator: Operator, values: Vec<String>) -> Result<Self, SelectorError> {
        let key = key.into();
        validate_label_key(&key).map_err(SelectorError::InvalidRequirement)?;
        match operator {
            Operator::Equals | Operator::NotEquals if values.len() != 1 => {
                return Err(SelectorError::InvalidRequirement(format!(
                    "key {key:?}: exactly one value is required for '=', '==' and '!='"
                )));
            }
            Operator::In | Operator::NotIn if values.is_empty() => {
                return Err(SelectorError::InvalidRequirement(format!(
                    "key {key:?}: for 'in' and 'notin' operators, values set can't be empty"
                )));
            }
            Operator::Exists | Operator::DoesNotExist if !values.is_empty() => {
                return Err(SelectorError::InvalidRequirement(format!(
                    "key {key:?}: values set must be empty for exists and does not exist"
                )));
            }
            _ => {}
        }
        for value in &values {
            validate_label_value(value).map_err(|e| SelectorError::InvalidRequirement(format!("key {key:?}: {e}")))?;
        }
        let mut values = values;
        values.sort();
        values.dedup();
        Ok(Requirement { key, operator, values })
    }

    pub fn key(&self) -> &str {
        &self.key
    }

    pub fn operator(&self) -> Operator {
        self.operator
    }

    pub fn values(&self) -> &[String] {
        &self.values
    }

    /// Does this clause hold for these labels?
    pub fn matches(&self, labels: &BTreeMap<String, String>) -> bool {
        let found = labels.get(&self.key);
        let in_values = |v: &String| self.values.iter().any(|x| x == v);
        match self.operator {
            Operator::Equals | Operator::In => found.is_some_and(in_values),
            // "not equal" and "not in" hold for objects that lack the label altogether: a pod
            // without `tier` is certainly not `tier=cache`.
            Operator::NotEquals | Operator::NotIn => !found.is_some_and(in_values),
            Operator::Exists => found.is_some(),
            Operator::DoesNotExist => found.is_none(),
        }
    }
}

impl fmt::Display for Requirement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let first = self.values.first().map(String::as_str).unwrap_or("");
        match self.operator {
            Operator::Equals => write!(f, "{}={}", self.key, first),
            Operator::NotEquals => write!(f, "{}!={}", self.key, first),
            Operator::In => write!(f, "{} in ({})", self.key, self.values.join(",")),
            Operator::NotIn => write!(f, "{} notin ({})", self.key, self.values.join(",")),
            Operator::Exists => write!(f, "{}", self.key),
            Operator::DoesNotExist => write!(f, "!{}", self.key),
        }
    }
}

/// A parsed `labelSelector`: all requirements must hold. The empty selector matches everything.
///
/// Named `Selector` (not `LabelSelector`) so it does not clash with [`meta::LabelSelector`],
/// the `{matchLabels, matchExpressions}` field of objects.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Selector {
    /// Sorted by key (stable), as Kubernetes sorts them, so the printed form is canonical.
    requirements: Vec<Requirement>,
}

impl Selector {
    /// The selector that matches every object (the empty string).
    pub fn everything() -> Self {
        Selector::default()
    }

    /// Parses the `labelSelector` query parameter.
    pub fn parse(input: &str) -> Result<Self, SelectorError> {
        let tokens = lex(input);
        let mut parser = Parser { input, tokens, pos: 0 };
        let requirements = parser.parse()?;
        Ok(Selector::from_requirements(requirements))
    }

    /// A selector from already-validated requirements.
    pub fn from_requirements(mut requirements: Vec<Requirement>) -> Self {
        requirements.sort_by(|a, b| a.key.cmp(&b.key));
        Selector { requirements }
    }

    /// `key=value` for every entry: how `matchLabels` (and `kubectl logs deploy/web`) select.
    pub fn from_labels(labels: &BTreeMap<String, String>) -> Result<Self, SelectorError> {
        let requirements = labels
            .iter()
            .map(|(k, v)| Requirement::new(k.clone(), Operator::Equals, vec![v.clone()]))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Selector::from_requirements(requirements))
    }

    /// Converts the structured form found in objects (`spec.selector`).
    ///
    /// As in Kubernetes, an empty `LabelSelector` (no matchLabels, no matchExpressions)
    /// becomes a selector that matches everything; validation of the object is what forbids
    /// empty selectors where they make no sense (a Deployment's).
    pub fn from_label_selector(selector: &meta::LabelSelector) -> Result<Self, SelectorError> {
        let mut requirements = Vec::new();
        for (key, value) in &selector.match_labels {
            requirements.push(Requirement::new(key.clone(), Operator::Equals, vec![value.clone()])?);
        }
        for expr in &selector.match_expressions {
            let operator = match expr.operator.as_str() {
                "In" => Operator::In,
                "NotIn" => Operator::NotIn,
                "Exists" => Operator::Exists,
                "DoesNotExist" => Operator::DoesNotExist,
                other => return Err(SelectorError::UnknownOperator(other.to_string())),
            };
            requirements.push(Requirement::new(expr.key.clone(), operator, expr.values.clone())?);
        }
        Ok(Selector::from_requirements(requirements))
    }

    pub fn requirements(&self) -> &[Requirement] {
        &self.requirements
    }

    /// True for the selector that matches everything.
    pub fn is_empty(&self) -> bool {
        self.requirements.is_empty()
    }

    /// Do these labels satisfy every requirement?
    pub fn matches(&self, labels: &BTreeMap<String, String>) -> bool {
        self.requirements.iter().all(|r| r.matches(labels))
    }
}

impl fmt::Display for Selector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, r) in self.requirements.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            write!(f, "{r}")?;
        }
        Ok(())
    }
}

impl FromStr for Selector {
    type Err = SelectorError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Selector::parse(s)
    }
}

impl TryFrom<&meta::LabelSelector> for Selector {
    type Error = SelectorError;
    fn try_from(selector: &meta::LabelSelector) -> Result<Self, Self::Error> {
        Selector::from_label_selector(selector)
    }
}

/// The words of the label selector language.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Token {
    Identifier(String),
    /// `!` before a key.
    Not,
    /// `=` or `==`.
    Equals,
    NotEquals,
    In,
    NotIn,
    Open,
    Close,
    Comma,
    End,
}

impl fmt::Display for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Token::Identifier(s) => write!(f, "'{s}'"),
            Token::Not => f.write_str("'!'"),
            Token::Equals => f.write_str("'='"),
            Token::NotEquals => f.write_str("'!='"),
            Token::In => f.write_str("'in'"),
            Token::NotIn => f.write_str("'notin'"),
            Token::Open => f.write_str("'('"),
            Token::Close => f.write_str("')'"),
            Token::Comma => f.write_str("','"),
            Token::End => f.write_str("end of string"),
        }
    }
}

/// Splits a label selector into tokens. Whitespace only separates; `in` and `notin` are
/// keywords; anything else up to a space or one of `!=(),` is an identifier (a key or value),
/// which is validated later so the error can name it.
fn lex(input: &str) -> Vec<Token> {
    let mut tokens = Vec::new();
    let mut chars = input.chars().peekable();
    while let Some(&c) = chars.peek() {
        match c {
            c if c.is_whitespace() => {
                chars.next();
            }
            '(' | ')' | ',' => {
                chars.next();
                tokens.push(match c {
                    '(' => Token::Open,
                    ')' => Token::Close,
                    _ => Token::Comma,
                });
            }
            '!' => {
                chars.next();
                if chars.peek() == Some(&'=') {
                    chars.next();
                    tokens.push(Token::NotEquals);
                } else {
                    tokens.push(Token::Not);
                }
            }
            '=' => {
                chars.next();
                if chars.peek() == Some(&'=') {
                    chars.next();
                }
                tokens.push(Token::Equals);
            }
            _ => {
                let mut word = String::new();
                while let Some(&c) = chars.peek() {
                    if c.is_whitespace() || matches!(c, '!' | '=' | '(' | ')' | ',') {
                        break;
                    }
                    word.push(c);
                    chars.next();
                }
                tokens.push(match word.as_str() {
                    "in" => Token::In,
                    "notin" => Token::NotIn,
                    _ => Token::Identifier(word),
                });
            }
        }
    }
    tokens.push(Token::End);
    tokens
}

/// A recursive-descent parser over the tokens:
///
/// ```text
/// selector    := "" | requirement ("," requirement)*
/// requirement := "!" KEY | KEY | KEY ("="|"=="|"!=") VALUE? | KEY ("in"|"notin") "(" VALUE? ("," VALUE?)* ")"
/// ```
struct Parser<'a> {
    input: &'a str,
    tokens: Vec<Token>,
    pos: usize,
}

impl Parser<'_> {
    fn peek(&self) -> &Token {
        self.tokens.get(self.pos).unwrap_or(&Token::End)
    }

    fn next(&mut self) -> Token {
        let token = self.peek().clone();
        if self.pos < self.tokens.len() {
            self.pos += 1;
        }
        token
    }

    fn error(&self, message: String) -> SelectorError {
        SelectorError::Syntax {
            input: self.input.to_string(),
            message,
        }
    }

    fn parse(&mut self) -> Result<Vec<Requirement>, SelectorError> {
        let mut requirements = Vec::new();
        if *self.peek() == Token::End {
            return Ok(requirements);
        }
        loop {
            requirements.push(self.requirement()?);
            match self.next() {
                Token::End => return Ok(requirements),
                Token::Comma => {
                    if *self.peek() == Token::End {
                        return Err(self.error("found end of string, expected: a requirement after ','".into()));
                    }
                }
                other => return Err(self.error(format!("found {other}, expected: ',' or end of string"))),
            }
        }
    }

    fn key(&mut self) -> Result<String, SelectorError> {
        match self.next() {
            Token::Identifier(key) => Ok(key),
            other => Err(self.error(format!("found {other}, expected: a label key"))),
        }
    }

    fn requirement(&mut self) -> Result<Requirement, SelectorError> {
        if *self.peek() == Token::Not {
            self.next();
            let key = self.key()?;
            return Requirement::new(key, Operator::DoesNotExist, Vec::new());
        }
        let key = self.key()?;
        let operator = match self.peek() {
            Token::Comma | Token::End => return Requirement::new(key, Operator::Exists, Vec::new()),
            Token::Equals => Operator::Equals,
            Token::NotEquals => Operator::NotEquals,
            Token::In => Operator::In,
            Token::NotIn => Operator::NotIn,
            other => {
                return Err(self.error(format!("found {other}, expected: '=', '!=', '==', 'in', 'notin'")));
            }
        };
        self.next();
        let values = match operator {
            Operator::In | Operator::NotIn => self.value_set()?,
            // `key=` (nothing after the operator) means "equals the empty string".
            _ => match self.peek().clone() {
                Token::Identifier(v) => {
                    self.next();
                    vec![v]
                }
                Token::Comma | Token::End => vec![String::new()],
                other => return Err(self.error(format!("found {other}, expected: a label value"))),
            },
        };
        Requirement::new(key, operator, values)
    }

    /// `( v1, v2 )`; an empty slot stands for the empty string value, as in Kubernetes.
    fn value_set(&mut self) -> Result<Vec<String>, SelectorError> {
        match self.next() {
            Token::Open => {}
            other => return Err(self.error(format!("found {other}, expected: '('"))),
        }
        let mut values = Vec::new();
        let mut current: Option<String> = None;
        loop {
            match self.next() {
                Token::Identifier(v) if current.is_none() => current = Some(v),
                Token::Comma => values.push(current.take().unwrap_or_default()),
                Token::Close => {
                    values.push(current.take().unwrap_or_default());
                    return Ok(values);
                }
                other => return Err(self.error(format!("found {other}, expected: ',' or ')' in a value list"))),
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Field selectors
// ---------------------------------------------------------------------------------------------

/// The operator of one field requirement.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FieldOperator {
    /// `field=value` (also `field==value`).
    Equals,
    /// `field!=value`.
    NotEquals,
}

/// One clause of a field selector, e.g. `status.phase!=Succeeded`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct FieldRequirement {
    pub field: String,
    pub operator: FieldOperator,
    /// Unescaped.
    pub value: String,
}

impl FieldRequirement {
    fn matches_value(&self, actual: &str) -> bool {
        match self.operator {
            FieldOperator::Equals => actual == self.value,
            FieldOperator::NotEquals => actual != self.value,
        }
    }
}

impl fmt::Display for FieldRequirement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let op = match self.operator {
            FieldOperator::Equals => "=",
            FieldOperator::NotEquals => "!=",
        };
        write!(f, "{}{}{}", self.field, op, escape_field_value(&self.value))
    }
}

/// A parsed `fieldSelector`: all requirements must hold. The empty selector matches everything.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct FieldSelector {
    requirements: Vec<FieldRequirement>,
}

/// Escapes the three characters with a meaning in field selector values: `\`, `,` and `=`.
pub fn escape_field_value(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        if matches!(c, '\\' | ',' | '=') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

impl FieldSelector {
    /// The selector that matches every object.
    pub fn everything() -> Self {
        FieldSelector::default()
    }

    /// Parses the `fieldSelector` query parameter.
    ///
    /// Terms are separated by unescaped commas; each is `field=value`, `field==value` or
    /// `field!=value`. Inside a value, `\,` `\=` and `\\` stand for the literal characters;
    /// an unescaped `=` or `,` in a value, or any other backslash sequence, is an error.
    /// Surrounding whitespace of fields and values is ignored; empty terms are skipped.
    pub fn parse(input: &str) -> Result<Self, SelectorError> {
        let error = |message: String| SelectorError::FieldSyntax {
            input: input.to_string(),
            message,
        };
        let mut requirements = Vec::new();
        for term in split_unescaped_commas(input) {
            if term.trim().is_empty() {
                continue;
            }
            let (field, operator, raw_value) = split_field_term(term)
                .ok_or_else(|| error(format!("can't understand {term:?}: no '=', '==' or '!='")))?;
            let field = field.trim();
            if field.is_empty() {
                return Err(error(format!("{term:?} names no field")));
            }
            let value = unescape_field_value(raw_value.trim()).map_err(error)?;
            requirements.push(FieldRequirement {
                field: field.to_string(),
                operator,
                value,
            });
        }
        Ok(FieldSelector { requirements })
    }

    pub fn requirements(&self) -> &[FieldRequirement] {
        &self.requirements
    }

    pub fn is_empty(&self) -> bool {
        self.requirements.is_empty()
    }

    /// The field paths used, so the caller can refuse the ones its kind does not support.
    pub fn fields(&self) -> impl Iterator<Item = &str> {
        self.requirements.iter().map(|r| r.field.as_str())
    }

    /// Fails with "field label not supported: X" for the first field not in `supported`,
    /// which the API server answers with 400 Bad Request, as kube-apiserver does.
    pub fn check_supported(&self, supported: &[&str]) -> Result<(), SelectorError> {
        match self.fields().find(|f| !supported.contains(f)) {
            Some(f) => Err(SelectorError::UnsupportedField(f.to_string())),
            None => Ok(()),
        }
    }

    /// If the selector requires `field` to equal one value (`metadata.name=web`), that value.
    /// Lets a store fetch one key instead of scanning a whole list.
    pub fn exact_value(&self, field: &str) -> Option<&str> {
        self.requirements
            .iter()
            .find(|r| r.field == field && r.operator == FieldOperator::Equals)
            .map(|r| r.value.as_str())
    }

    /// Matches against an object in its JSON form, looking each field up by its dotted path.
    /// A missing field counts as the empty string (so `spec.nodeName=` finds unscheduled pods),
    /// numbers and booleans as their text.
    pub fn matches(&self, object: &Value) -> bool {
        self.requirements
            .iter()
            .all(|r| r.matches_value(&field_value(object, &r.field)))
    }

    /// Matches against a prepared set of field values (Kubernetes' "field set"); a field not
    /// in the map counts as the empty string.
    pub fn matches_fields(&self, fields: &BTreeMap<String, String>) -> bool {
        self.requirements
            .iter()
            .all(|r| r.matches_value(fields.get(&r.field).map(String::as_str).unwrap_or("")))
    }
}

impl fmt::Display for FieldSelector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, r) in self.requirements.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            write!(f, "{r}")?;
        }
        Ok(())
    }
}

impl FromStr for FieldSelector {
    type Err = SelectorError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        FieldSelector::parse(s)
    }
}

/// The text of the field at a dotted path (`status.phase`) of an object; "" when absent.
pub fn field_value(object: &Value, path: &str) -> String {
    let mut current = object;
    for segment in path.split('.') {
        match current.get(segment) {
            Some(next) => current = next,
            None => return String::new(),
        }
    }
    match current {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        Value::Bool(b) => b.to_string(),
        _ => String::new(),
    }
}

/// Splits at commas that are not preceded by a backslash escape; escapes are kept for the
/// later unescaping step.
fn split_unescaped_commas(input: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let mut start = 0;
    let mut escaped = false;
    for (i, c) in input.char_indices() {
        if escaped {
            escaped = false;
        } else if c == '\\' {
            escaped = true;
        } else if c == ',' {
            parts.push(&input[start..i]);
            start = i + 1;
        }
    }
    parts.push(&input[start..]);
    parts
}

/// Finds the first unescaped operator in a term. `!=` and `==` are tried before `=` at each
/// position so `a!=b` is not read as field `a!` equals `b`.
fn split_field_term(term: &str) -> Option<(&str, FieldOperator, &str)> {
    let mut escaped = false;
    for (i, c) in term.char_indices() {
        if escaped {
            escaped = false;
            continue;
        }
        if c == '\\' {
            escaped = true;
            continue;
        }
        let rest = &term[i..];
        if rest.starts_with("!=") {
            return Some((&term[..i], FieldOperator::NotEquals, &term[i + 2..]));
        }
        if rest.starts_with("==") {
            return Some((&term[..i], FieldOperator::Equals, &term[i + 2..]));
        }
        if rest.starts_with('=') {
            return Some((&term[..i], FieldOperator::Equals, &term[i + 1..]));
        }
    }
    None
}

/// Undoes [`escape_field_value`].
fn unescape_field_value(raw: &str) -> Result<String, String> {
    let mut out = String::with_capacity(raw.len());
    let mut chars = raw.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some(e @ ('\\' | ',' | '=')) => out.push(e),
                Some(other) => return Err(format!("invalid escape sequence \\{other} in value {raw:?}")),
                None => return Err(format!("value {raw:?} ends with an unfinished escape '\\'")),
            },
            '=' | ',' => return Err(format!("unescaped {c} in value {raw:?}")),
            c => out.push(c),
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    fn sel(s: &str) -> Selector {
        match Selector::parse(s) {
            Ok(sel) => sel,
            Err(e) => panic!("{s:?} should parse: {e}"),
        }
    }

    #[test]
    fn empty_selector_matches_everything() {
        for s in ["", "   "] {
            let selector = sel(s);
            assert!(selector.is_empty());
            assert!(selector.matches(&labels(&[])));
            assert!(selector.matches(&labels(&[("app", "web")])));
            assert_eq!(selector.to_string(), "");
        }
    }

    #[test]
    fn equals_and_double_equals() {
        for s in ["app=web", "app==web", " app = web "] {
            let selector = sel(s);
            assert!(selector.matches(&labels(&[("app", "web"), ("x", "y")])), "{s}");
            assert!(!selector.matches(&labels(&[("app", "db")])), "{s}");
            assert!(!selector.matches(&labels(&[])), "{s}");
            assert_eq!(selector.to_string(), "app=web");
        }
    }

    #[test]
    fn equals_empty_value() {
        let selector = sel("app=");
        assert!(selector.matches(&labels(&[("app", "")])));
        assert!(!selector.matches(&labels(&[])));
        assert_eq!(selector.to_string(), "app=");
    }

    #[test]
    fn not_equals_matches_missing_labels() {
        let selector = sel("tier!=cache");
        assert!(selector.matches(&labels(&[("tier", "web")])));
        assert!(selector.matches(&labels(&[])));
        assert!(!selector.matches(&labels(&[("tier", "cache")])));
        assert_eq!(selector.to_string(), "tier!=cache");
    }

    #[test]
    fn in_and_notin() {
        let selector = sel("env in (prod, staging)");
        assert!(selector.matches(&labels(&[("env", "prod")])));
        assert!(selector.matches(&labels(&[("env", "staging")])));
        assert!(!selector.matches(&labels(&[("env", "dev")])));
        assert!(!selector.matches(&labels(&[])));
        assert_eq!(selector.to_string(), "env in (prod,staging)");

        let selector = sel("env notin (dev)");
        assert!(selector.matches(&labels(&[("env", "prod")])));
        assert!(selector.matches(&labels(&[])));
        assert!(!selector.matches(&labels(&[("env", "dev")])));
        assert_eq!(selector.to_string(), "env notin (dev)");
    }

    #[test]
    fn in_values_are_sorted_and_deduplicated() {
        assert_eq!(sel("env in (b,a,b)").to_string(), "env in (a,b)");
    }

    #[test]
    fn exists_and_does_not_exist() {
        let selector = sel("canary");
        assert!(selector.matches(&labels(&[("canary", "")])));
        assert!(!selector.matches(&labels(&[])));
        let selector = sel("!canary");
        assert!(selector.matches(&labels(&[])));
        assert!(!selector.matches(&labels(&[("canary", "true")])));
        assert_eq!(selector.to_string(), "!canary");
    }

    #[test]
    fn several_requirements_are_anded_and_sorted() {
        let selector = sel("tier!=cache, app=web,!canary,env in (prod)");
        assert_eq!(selector.requirements().len(), 4);
        assert!(selector.matches(&labels(&[("app", "web"), ("env", "prod")])));
        assert!(!selector.matches(&labels(&[("app", "web"), ("env", "prod"), ("canary", "1")])));
        assert!(!selector.matches(&labels(&[("app", "web")])));
        assert_eq!(selector.to_string(), "app=web,!canary,env in (prod),tier!=cache");
        // The printed form parses back to the same selector.
        assert_eq!(sel(&selector.to_string()), selector);
    }

    #[test]
    fn prefixed_keys() {
        let selector = sel("app.kubernetes.io/name=web");
        assert!(selector.matches(&labels(&[("app.kubernetes.io/name", "web")])));
    }

    #[test]
    fn bad_keys_and_values_are_rejected_with_the_bad_part() {
        let cases = [
            ("-app=web", "-app"),
            ("app-=web", "app-"),
            ("Example.COM/app=web", "Example.COM/app"),
            ("/app=web", "prefix part must be non-empty"),
            ("a/b/c=d", "a/b/c"),
            ("app=-web", "-web"),
            ("app in (ok,bad!)", "expected"),
        ];
        for (input, needle) in cases {
            match Selector::parse(input) {
                Ok(s) => panic!("{input:?} parsed as {s}"),
                Err(e) => assert!(e.to_string().contains(needle), "{input:?}: {e}"),
            }
        }
        let long = "a".repeat(64);
        let err = Selector::parse(&format!("{long}=x"))
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(
            err.starts_with("unable to parse requirement:") && err.contains("63"),
            "{err}"
        );
        let err = Selector::parse(&format!("x={long}"))
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(
            err.starts_with("unable to parse requirement:") && err.contains("63"),
            "{err}"
        );
    }

    #[test]
    fn syntax_errors() {
        for input in [
            "app=web,",
            ",app=web",
            "app web",
            "app in prod",
            "app in (prod",
            "app notin (a b)",
            "!app=web",
            "app=web)",
            "=web",
            "app!",
            "app=a=b",
        ] {
            assert!(Selector::parse(input).is_err(), "{input:?} should not parse");
        }
    }

    #[test]
    fn from_label_selector_object() {
        let object = meta::LabelSelector {
            match_labels: labels(&[("app", "web")]),
            match_expressions: vec![
                meta::LabelSelectorRequirement {
                    key: "env".into(),
                    operator: "In".into(),
                    values: vec!["prod".into(), "staging".into()],
                },
                meta::LabelSelectorRequirement {
                    key: "canary".into(),
                    operator: "DoesNotExist".into(),
                    values: vec![],
                },
            ],
        };
        let selector = Selector::try_from(&object).unwrap();
        assert_eq!(selector.to_string(), "app=web,!canary,env in (prod,staging)");
        assert!(selector.matches(&labels(&[("app", "web"), ("env", "prod")])));
        assert!(!selector.matches(&labels(&[("app", "web"), ("env", "dev")])));

        // An empty LabelSelector object matches everything.
        let empty = Selector::from_label_selector(&meta::LabelSelector::default());
        assert!(matches!(empty, Ok(ref s) if s.is_empty() && s.matches(&labels(&[("a", "b")]))));

        let bad_op = meta::LabelSelector {
            match_expressions: vec![meta::LabelSelectorRequirement {
                key: "a".into(),
                operator: "Equals".into(),
                values: vec!["b".into()],
            }],
            ..Default::default()
        };
        assert_eq!(
            Selector::from_label_selector(&bad_op),
            Err(SelectorError::UnknownOperator("Equals".into()))
        );

        let in_without_values = meta::LabelSelector {
            match_expressions: vec![meta::LabelSelectorRequirement {
                key: "a".into(),
                operator: "In".into(),
                values: vec![],
            }],
            ..Default::default()
        };
        assert!(matches!(
            Selector::from_label_selector(&in_without_values),
            Err(SelectorError::InvalidRequirement(_))
        ));
    }

    #[test]
    fn from_labels_is_an_equality_selector() {
        let selector = Selector::from_labels(&labels(&[("app", "web"), ("tier", "fe")])).unwrap();
        assert_eq!(selector.to_string(), "app=web,tier=fe");
    }

    fn fsel(s: &str) -> FieldSelector {
        match FieldSelector::parse(s) {
            Ok(sel) => sel,
            Err(e) => panic!("{s:?} should parse: {e}"),
        }
    }

    #[test]
    fn field_selector_equals_and_not_equals() {
        let pod = json!({"metadata": {"name": "web", "namespace": "default"},
                         "spec": {"nodeName": "node-1"}, "status": {"phase": "Running"}});
        assert!(fsel("metadata.name=web").matches(&pod));
        assert!(fsel("metadata.name==web").matches(&pod));
        assert!(!fsel("metadata.name=db").matches(&pod));
        assert!(fsel("metadata.name!=db").matches(&pod));
        let node_pods = fsel("spec.nodeName=node-1,status.phase!=Succeeded,status.phase!=Failed");
        assert!(node_pods.matches(&pod));
        assert!(!node_pods.matches(&json!({"spec": {"nodeName": "node-1"}, "status": {"phase": "Failed"}})));
        assert_eq!(
            node_pods.to_string(),
            "spec.nodeName=node-1,status.phase!=Succeeded,status.phase!=Failed"
        );
    }

    #[test]
    fn field_selector_missing_field_is_empty_string() {
        let unscheduled = json!({"metadata": {"name": "web"}, "spec": {}});
        assert!(fsel("spec.nodeName=").matches(&unscheduled));
        assert!(!fsel("spec.nodeName!=").matches(&unscheduled));
        assert!(!fsel("spec.nodeName=").matches(&json!({"spec": {"nodeName": "n1"}})));
    }

    #[test]
    fn field_selector_involved_object() {
        let event = json!({"involvedObject": {"name": "web", "namespace": "default", "uid": "1234-abcd"}});
        let selector = fsel("involvedObject.name=web,involvedObject.namespace=default,involvedObject.uid=1234-abcd");
        assert!(selector.matches(&event));
        assert_eq!(
            selector.fields().collect::<Vec<_>>(),
            ["involvedObject.name", "involvedObject.namespace", "involvedObject.uid"]
        );
        assert!(!fsel("involvedObject.uid=other").matches(&event));
    }

    #[test]
    fn field_selector_escaping() {
        let selector = fsel(r"metadata.name=a\,b\=c\\d,status.phase=Running");
        assert_eq!(selector.requirements().len(), 2);
        assert_eq!(selector.requirements()[0].value, r"a,b=c\d");
        assert!(selector.matches(&json!({"metadata": {"name": "a,b=c\\d"}, "status": {"phase": "Running"}})));
        assert_eq!(selector.to_string(), r"metadata.name=a\,b\=c\\d,status.phase=Running");
        assert_eq!(fsel(&selector.to_string()), selector);
    }

    #[test]
    fn field_selector_errors() {
        for input in [
            "metadata.name",
            "=web",
            r"metadata.name=a\xb",
            "metadata.name=a=b",
            r"metadata.name=a\",
        ] {
            assert!(
                matches!(FieldSelector::parse(input), Err(SelectorError::FieldSyntax { .. })),
                "{input:?} should not parse"
            );
        }
    }

    #[test]
    fn field_selector_empty_and_supported_fields() {
        assert!(fsel("").is_empty());
        assert!(fsel("").matches(&json!({})));
        let selector = fsel("metadata.name=web,spec.foo=bar");
        assert_eq!(
            selector.check_supported(&["metadata.name", "metadata.namespace"]),
            Err(SelectorError::UnsupportedField("spec.foo".into()))
        );
        assert_eq!(
            SelectorError::UnsupportedField("spec.foo".into()).to_string(),
            "field label not supported: spec.foo"
        );
        assert!(fsel("metadata.name=web").check_supported(&["metadata.name"]).is_ok());
        assert_eq!(selector.exact_value("metadata.name"), Some("web"));
        assert_eq!(fsel("metadata.name!=web").exact_value("metadata.name"), None);
    }

    #[test]
    fn field_selector_numbers_bools_and_field_sets() {
        let obj = json!({"spec": {"replicas": 3, "paused": true}});
        assert!(fsel("spec.replicas=3,spec.paused=true").matches(&obj));
        let set = labels(&[("metadata.name", "web")]);
        assert!(fsel("metadata.name=web,spec.nodeName=").matches_fields(&set));
        assert!(!fsel("metadata.name!=web").matches_fields(&set));
    }
}
