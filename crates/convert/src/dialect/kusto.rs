//! KQL (Microsoft Sentinel, Defender XDR advanced hunting, Azure Data Explorer).
//!
//! | Sigma | KQL |
//! | --- | --- |
//! | equals | `F =~ "v"` (`==` with `cased`); lists `F in~ ("a", "b")` (`in`) |
//! | contains / startswith / endswith | `contains`, `startswith`, `endswith` (`_cs` with `cased`) |
//! | other wildcards (`a*b`, `?`) | `F matches regex "(?i)^a.*b$"` |
//! | re | `F matches regex "(?i)..."` (RE2; flags inline) |
//! | cidr | `ipv4_is_in_range(F, "net")` / `ipv6_is_in_range` |
//! | comparisons | `todouble(F) >= 5` (also for numbers stored as text) |
//! | time parts | `datetime_part("hour", todatetime(F)) == 3` (also for times stored as text) |
//! | null / exists | `isempty(F)` / `isnotempty(F)` (KQL has no absent column value: empty) |
//! | text of an integer / datetime column | `strcat("0x", tohex(F))` / `format_datetime(F, "yyyy-MM-dd HH:mm:ss.fff")` |
//! | keyword | `* contains "v"` (every column) |
//! | not | `not(...)` |
//!
//! `has_any` is not used for `contains` lists: `has` matches whole terms, so it would miss
//! `contains` matches inside a word. A dotted field (`EventData.Image`) is a path into a
//! dynamic column and is converted with `tostring()` / `todouble()`.

use sigrun_rule::modifier::{CompareOp, TimePart};
use sigrun_rule::value::FieldRefMatch;

use super::regex::check_re2;
use super::{Cx, Dialect, NotStyle, Op, Piece, Place, Syntax, glob_to_regex, inline_flags};
use crate::error::{ConvertError, unsupported};
use crate::ir::{Pred, Shape, ShapeKind, Test, TextForm};

pub(crate) struct Kusto;

const NAME: &str = "kusto";

static SYNTAX: Syntax = Syntax {
    and: " and ",
    or: " or ",
    not: NotStyle::Wrap("not(", ")"),
    open: "(",
    close: ")",
    or_binds_tighter: false,
    wrap_top: false,
    max_chain: Some(64),
    and_or_unordered: false,
};

/// A KQL string literal: `"..."` with `\\`, `\"` and control characters escaped.
pub(crate) fn string(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn is_identifier(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// A column name, or a path into a dynamic column (`EventData.Image`); names that are not
/// identifiers are bracket-quoted (`['Data Name']`).
fn column(name: &str) -> String {
    name.split('.')
        .map(|segment| {
            if is_identifier(segment) {
                segment.to_owned()
            } else {
                format!("[{}]", string(segment).replace('"', "'"))
            }
        })
        .collect::<Vec<_>>()
        .join(".")
}

/// `EventData.Name` in `SecurityEvent`, whose EventData column is the event's XML as a
/// string: the value is extracted from its `<Data Name="Name">` element (as the XML holds it,
/// so `&`, `<`, `>` in values are entity-escaped).
fn security_event_data(name: &str, table: Option<&str>) -> Option<String> {
    let field = name.strip_prefix("EventData.")?;
    (table == Some("SecurityEvent")).then(|| {
        format!(
            "extract({}, 1, EventData)",
            string(&format!("<Data Name=\"{field}\">([^<]*)</Data>"))
        )
    })
}

/// The field as a string expression (dynamic paths converted).
fn text_field(name: &str, table: Option<&str>) -> String {
    if let Some(extracted) = security_event_data(name, table) {
        extracted
    } else if name.contains('.') {
        format!("tostring({})", column(name))
    } else {
        column(name)
    }
}

/// The field as a number expression (dynamic paths converted).
fn number_field(name: &str, table: Option<&str>) -> String {
    if let Some(extracted) = security_event_data(name, table) {
        format!("todouble({extracted})")
    } else if name.contains('.') {
        format!("todouble({})", column(name))
    } else {
        column(name)
    }
}

/// The field as a datetime expression: text and dynamic values converted.
fn datetime_field(name: &str, table: Option<&str>) -> String {
    match security_event_data(name, table) {
        Some(extracted) => format!("todatetime({extracted})"),
        None => format!("todatetime({})", column(name)),
    }
}

/// The field as the text Sysmon logs for it, built from the type the source stores
/// ([`TextForm`]): `tohex` gives lower-case digits without leading zeros, as Sysmon writes
/// them; `format_datetime` writes the datetime (UTC in every Microsoft table) as Sysmon does.
fn text_form_field(name: &str, form: TextForm, table: Option<&str>) -> String {
    let stored = |convert: &str| {
        if let Some(extracted) = security_event_data(name, table) {
            format!("{convert}({extracted})")
        } else if name.contains('.') {
            format!("{convert}({})", column(name))
        } else {
            column(name)
        }
    };
    match form {
        TextForm::Hex => format!("strcat(\"0x\", tohex({}))", stored("tolong")),
        TextForm::SysmonTime => format!(
            "format_datetime({}, \"yyyy-MM-dd HH:mm:ss.fff\")",
            stored("todatetime")
        ),
    }
}

fn operator(kind: ShapeKind, cased: bool) -> &'static str {
    match (kind, cased) {
        (ShapeKind::Equals, false) => "=~",
        (ShapeKind::Equals, true) => "==",
        (ShapeKind::Contains, false) => "contains",
        (ShapeKind::Contains, true) => "contains_cs",
        (ShapeKind::StartsWith, false) => "startswith",
        (ShapeKind::StartsWith, true) => "startswith_cs",
        (ShapeKind::EndsWith, false) => "endswith",
        (ShapeKind::EndsWith, true) => "endswith_cs",
    }
}

fn matches_regex(field: &str, pattern: &str) -> Piece {
    Piece::atom(format!("{field} matches regex {}", string(pattern)))
}

fn shape(field: &str, shape: &Shape, cased: bool) -> Piece {
    match shape.kind() {
        Some((kind, text)) => Piece::atom(format!(
            "{field} {} {}",
            operator(kind, cased),
            string(text)
        )),
        None => {
            let regex = glob_to_regex(&shape.to_globs());
            let regex = if cased { regex } else { format!("(?i){regex}") };
            matches_regex(field, &regex)
        }
    }
}

fn keyword(test: &Test) -> Result<Piece, ConvertError> {
    let construct = "keyword search";
    match &test.pred {
        Pred::Str {
            shape: Shape::Contains(text),
            cased,
        } => Ok(Piece::atom(format!(
            "* {} {}",
            operator(ShapeKind::Contains, *cased),
            string(text)
        ))),
        Pred::StrAny {
            kind: ShapeKind::Contains,
            values,
            cased,
        } => Ok(SYNTAX.join(
            values
                .iter()
                .map(|v| {
                    Piece::atom(format!(
                        "* {} {}",
                        operator(ShapeKind::Contains, *cased),
                        string(v)
                    ))
                })
                .collect(),
            Op::Or,
        )),
        _ => Err(unsupported(
            NAME,
            construct,
            None,
            "KQL searches every column only with a plain substring (`* contains`), not with inner wildcards or other tests",
        )),
    }
}

fn time_part(part: TimePart) -> &'static str {
    match part {
        TimePart::Minute => "minute",
        TimePart::Hour => "hour",
        TimePart::Day => "day",
        TimePart::Week => "week_of_year",
        TimePart::Month => "month",
        TimePart::Year => "year",
    }
}

pub(crate) fn compare(op: CompareOp) -> &'static str {
    op.symbol()
}

impl Dialect for Kusto {
    fn syntax(&self) -> &Syntax {
        &SYNTAX
    }

    fn writes_text_form(&self, _form: TextForm) -> bool {
        true
    }

    fn test(&self, test: &Test, cx: &mut Cx) -> Result<Piece, ConvertError> {
        let Some(name) = test.field.as_deref() else {
            return keyword(test);
        };
        let table = cx.table.as_deref();
        let field = match test.as_text {
            Some(form) => text_form_field(name, form, table),
            None => text_field(name, table),
        };
        Ok(match &test.pred {
            Pred::Str { shape: s, cased } => shape(&field, s, *cased),
            Pred::StrAny {
                kind: ShapeKind::Equals,
                values,
                cased,
            } => Piece::atom(format!(
                "{field} {} ({})",
                if *cased { "in" } else { "in~" },
                values
                    .iter()
                    .map(|v| string(v))
                    .collect::<Vec<_>>()
                    .join(", ")
            )),
            Pred::StrAny {
                kind,
                values,
                cased,
            } => SYNTAX.join(
                values
                    .iter()
                    .map(|v| shape(&field, &Shape::of_kind(*kind, v.clone()), *cased))
                    .collect(),
                Op::Or,
            ),
            Pred::Regex { pattern, flags } => {
                check_re2(pattern)
                    .map_err(|reason| unsupported(NAME, "regex", Some(name), reason))?;
                matches_regex(&field, &inline_flags(pattern, *flags))
            }
            Pred::Number { raw, .. } => {
                Piece::atom(format!("{} == {raw}", number_field(name, table)))
            }
            Pred::Bool(b) if field == column(name) => Piece::atom(format!("{field} == {b}")),
            Pred::Bool(b) => Piece::atom(format!("tobool({field}) == {b}")),
            Pred::Null | Pred::Exists(false) => Piece::atom(format!("isempty({field})")),
            Pred::Exists(true) => Piece::atom(format!("isnotempty({field})")),
            // todouble() also reads numbers stored as text (ASIM process ids are strings).
            Pred::Compare { op, value } => {
                Piece::atom(format!("todouble({}) {} {value}", field, compare(*op)))
            }
            // todatetime() reads text (Sysmon's UtcTime, EventData paths) and leaves a
            // datetime column as it is; datetime_part() refuses strings.
            Pred::TimePart { part, value } => Piece::atom(format!(
                "datetime_part({}, {}) == {value}",
                string(time_part(*part)),
                datetime_field(name, table)
            )),
            Pred::Cidr(net) => {
                let function = match net {
                    ipnet::IpNet::V4(_) => "ipv4_is_in_range",
                    ipnet::IpNet::V6(_) => "ipv6_is_in_range",
                };
                Piece::atom(format!("{function}({field}, {})", string(&net.to_string())))
            }
            Pred::FieldRef {
                field: other,
                position,
            } => {
                let op = match position {
                    FieldRefMatch::Equals => "=~",
                    FieldRefMatch::StartsWith => "startswith",
                    FieldRefMatch::EndsWith => "endswith",
                    FieldRefMatch::Contains => "contains",
                };
                Piece::atom(format!("{field} {op} {}", text_field(other, table)))
            }
        })
    }

    fn query(
        &self,
        source: Option<Piece>,
        rule: Piece,
        _pipes: Vec<String>,
        place: &Place,
    ) -> String {
        match &place.table {
            Some(table) => {
                let mut out = column(table);
                if let Some(source) = source {
                    out.push_str("\n| where ");
                    out.push_str(&source.text);
                }
                out.push_str("\n| where ");
                out.push_str(&rule.text);
                out
            }
            None => super::and_with_source(&SYNTAX, source, rule).text,
        }
    }
}
