//! SQL over a flat events table (one column per field): SQLite and DuckDB.
//!
//! | Sigma | SQLite | DuckDB |
//! | --- | --- | --- |
//! | strings | `"F" LIKE 'pat' ESCAPE '\'` (ASCII case-insensitive) | `"F" ILIKE 'pat' ESCAPE '\'` |
//! | `cased` equals | `"F" = 'v'` | `"F" = 'v'` |
//! | `cased` wildcards | `"F" GLOB 'pat'` | `"F" LIKE 'pat' ESCAPE '\'` |
//! | re | `"F" REGEXP '(?i)..'` (needs a regexp() function) | `regexp_matches("F", '(?i)..')` |
//! | cidr (IPv4) | `"F" LIKE '10.%'` per octet-aligned prefix | same |
//! | comparisons | `CAST("F" AS REAL) > 5` | `TRY_CAST("F" AS DOUBLE) > 5` |
//! | null | `coalesce(CAST("F" AS VARCHAR), '') = ''` | same |
//! | not | `NOT coalesce(x, FALSE)`: SQL's three-valued logic would make `NOT` over a missing
//! |     | (NULL) column NULL, i.e. false, where Sigma says true | same |
//!
//! Keyword searches need a column holding the whole event (set the keyword field).

use sigrun_rule::modifier::TimePart;
use sigrun_rule::value::FieldRefMatch;

use super::regex::check_re2;
use super::{Cx, Dialect, NotStyle, Op, Piece, Place, Syntax, inline_flags};
use crate::error::{ConvertError, unsupported};
use crate::ir::{Glob, Pred, Shape, ShapeKind, Test};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Flavor {
    Sqlite,
    Duckdb,
}

pub(crate) struct Sql {
    pub flavor: Flavor,
}

static SYNTAX: Syntax = Syntax {
    and: " AND ",
    or: " OR ",
    not: NotStyle::Wrap("NOT coalesce(", ", FALSE)"),
    open: "(",
    close: ")",
    or_binds_tighter: false,
    wrap_top: false,
    // SQLite refuses expression trees deeper than 1000; a long OR chain is one.
    max_chain: Some(64),
    and_or_unordered: false,
};

/// A SQL string literal (`'` doubled).
fn string(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

/// A quoted identifier (`"` doubled).
pub(crate) fn ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// A LIKE pattern with `\` as the escape character.
fn like(globs: &[Glob]) -> String {
    let mut out = String::new();
    for glob in globs {
        match glob {
            Glob::Text(t) => {
                for c in t.chars() {
                    if matches!(c, '%' | '_' | '\\') {
                        out.push('\\');
                    }
                    out.push(c);
                }
            }
            Glob::Any => out.push('%'),
            Glob::One => out.push('_'),
        }
    }
    out
}

/// A SQLite GLOB pattern (case-sensitive); literal `*`, `?` and `[` go in brackets.
fn glob(globs: &[Glob]) -> String {
    let mut out = String::new();
    for g in globs {
        match g {
            Glob::Text(t) => {
                for c in t.chars() {
                    match c {
                        '*' | '?' | '[' => {
                            out.push('[');
                            out.push(c);
                            out.push(']');
                        }
                        c => out.push(c),
                    }
                }
            }
            Glob::Any => out.push('*'),
            Glob::One => out.push('?'),
        }
    }
    out
}

/// The LIKE prefixes of an IPv4 network, one per octet-aligned subnet.
fn ipv4_prefixes(net: ipnet::Ipv4Net) -> Option<Vec<String>> {
    let bits = net.prefix_len();
    if bits == 0 {
        return None;
    }
    let octets = net.network().octets();
    let full = usize::from(bits / 8);
    let rest = bits % 8;
    let mut out = Vec::new();
    let fixed: Vec<String> = octets[..full].iter().map(u8::to_string).collect();
    if rest == 0 {
        if full == 4 {
            return Some(vec![fixed.join(".")]);
        }
        out.push(format!("{}.%", fixed.join(".")));
    } else {
        let count = 1u16 << (8 - rest);
        for i in 0..count {
            let octet = u16::from(octets[full]) + i;
            let mut parts = fixed.clone();
            parts.push(octet.to_string());
            if full + 1 == 4 {
                out.push(parts.join("."));
            } else {
                out.push(format!("{}.%", parts.join(".")));
            }
        }
    }
    Some(out)
}

/// The LIKE patterns (or exact texts) of an IPv6 network, for addresses written in the
/// canonical compressed form (RFC 5952). `None` when the textual form of the network's
/// addresses is not a fixed prefix (a zero group that may be compressed, or a partial group
/// whose digit count varies).
fn ipv6_prefixes(net: ipnet::Ipv6Net) -> Option<Vec<String>> {
    let bits = u32::from(net.prefix_len());
    if bits == 128 {
        return Some(vec![net.network().to_string()]);
    }
    if bits == 0 {
        return None;
    }
    let groups = net.network().segments();
    let full = (bits / 16) as usize;
    if groups[..full].contains(&0) {
        return None;
    }
    let fixed: String = groups[..full].iter().map(|g| format!("{g:x}:")).collect();
    let partial = bits % 16;
    if partial == 0 {
        return Some(vec![format!("{fixed}%")]);
    }
    let group = groups[full];
    if group < 0x1000 {
        return None;
    }
    let digits = partial.div_ceil(4);
    let free = digits * 4 - partial;
    let top = u32::from(group) >> (16 - digits * 4);
    Some(
        (0..(1u32 << free))
            .map(|i| format!("{fixed}{:0width$x}%", top + i, width = digits as usize))
            .collect(),
    )
}

impl Sql {
    fn target(&self) -> &'static str {
        match self.flavor {
            Flavor::Sqlite => "sqlite",
            Flavor::Duckdb => "duckdb",
        }
    }

    fn shape(&self, f: &str, s: &Shape, cased: bool) -> Piece {
        Piece::atom(match (s, cased, self.flavor) {
            (Shape::Equals(text), true, _) => format!("{f} = {}", string(text)),
            (_, true, Flavor::Sqlite) => format!("{f} GLOB {}", string(&glob(&s.to_globs()))),
            (_, true, Flavor::Duckdb) => {
                format!("{f} LIKE {} ESCAPE '\\'", string(&like(&s.to_globs())))
            }
            (_, false, Flavor::Sqlite) => {
                format!("{f} LIKE {} ESCAPE '\\'", string(&like(&s.to_globs())))
            }
            (_, false, Flavor::Duckdb) => {
                format!("{f} ILIKE {} ESCAPE '\\'", string(&like(&s.to_globs())))
            }
        })
    }

    fn time_part(&self, f: &str, part: TimePart, value: i64) -> String {
        match self.flavor {
            Flavor::Sqlite => {
                let code = match part {
                    TimePart::Minute => "%M",
                    TimePart::Hour => "%H",
                    TimePart::Day => "%d",
                    TimePart::Week => "%W",
                    TimePart::Month => "%m",
                    TimePart::Year => "%Y",
                };
                format!("CAST(strftime('{code}', {f}) AS INTEGER) = {value}")
            }
            Flavor::Duckdb => format!(
                "date_part('{}', TRY_CAST({f} AS TIMESTAMP)) = {value}",
                part.name()
            ),
        }
    }
}

impl Dialect for Sql {
    fn syntax(&self) -> &Syntax {
        &SYNTAX
    }

    fn test(&self, test: &Test, cx: &mut Cx) -> Result<Piece, ConvertError> {
        let target = self.target();
        let name = super::field_or_keyword_warn(target, test, cx)?;
        let f = ident(&name);
        Ok(match &test.pred {
            Pred::Str { shape, cased } => self.shape(&f, shape, *cased),
            Pred::StrAny {
                kind: ShapeKind::Equals,
                values,
                cased: true,
            } => Piece::atom(format!(
                "{f} IN ({})",
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
                    .map(|v| self.shape(&f, &Shape::of_kind(*kind, v.clone()), *cased))
                    .collect(),
                Op::Or,
            ),
            Pred::Regex { pattern, flags } => {
                let pattern = inline_flags(pattern, *flags);
                match self.flavor {
                    Flavor::Sqlite => Piece::atom(format!("{f} REGEXP {}", string(&pattern))),
                    Flavor::Duckdb => {
                        check_re2(&pattern)
                            .map_err(|reason| unsupported(target, "regex", Some(&name), reason))?;
                        Piece::atom(format!("regexp_matches({f}, {})", string(&pattern)))
                    }
                }
            }
            Pred::Number { raw, .. } => Piece::atom(format!("{f} = {raw}")),
            Pred::Bool(b) => Piece::atom(format!("{f} = {}", if *b { "TRUE" } else { "FALSE" })),
            Pred::Null => Piece::atom(format!("coalesce(CAST({f} AS VARCHAR), '') = ''")),
            Pred::Exists(true) => Piece::atom(format!("{f} IS NOT NULL")),
            Pred::Exists(false) => Piece::atom(format!("{f} IS NULL")),
            Pred::Compare { op, value } => Piece::atom(match self.flavor {
                Flavor::Sqlite => format!("CAST({f} AS REAL) {} {value}", op.symbol()),
                Flavor::Duckdb => format!("TRY_CAST({f} AS DOUBLE) {} {value}", op.symbol()),
            }),
            Pred::TimePart { part, value } => Piece::atom(self.time_part(&f, *part, *value)),
            Pred::Cidr(net) => {
                let prefixes = match net {
                    ipnet::IpNet::V4(v4) => ipv4_prefixes(*v4),
                    ipnet::IpNet::V6(v6) => ipv6_prefixes(*v6),
                }
                .ok_or_else(|| {
                    unsupported(
                        target,
                        "cidr",
                        Some(&name),
                        format!("{net}: SQL has no network type here, and the addresses of this network do not share a fixed text prefix"),
                    )
                })?;
                SYNTAX.join(
                    prefixes
                        .into_iter()
                        .map(|p| {
                            Piece::atom(if p.ends_with('%') {
                                let like = match self.flavor {
                                    Flavor::Sqlite => "LIKE",
                                    Flavor::Duckdb => "ILIKE",
                                };
                                format!("{f} {like} {}", string(&p))
                            } else {
                                format!("{f} = {}", string(&p))
                            })
                        })
                        .collect(),
                    Op::Or,
                )
            }
            Pred::FieldRef {
                field: other,
                position,
            } => {
                let (a, b) = (format!("lower({f})"), format!("lower({})", ident(other)));
                Piece::atom(match (position, self.flavor) {
                    (FieldRefMatch::Equals, _) => format!("{a} = {b}"),
                    (FieldRefMatch::Contains, _) => format!("instr({a}, {b}) > 0"),
                    (FieldRefMatch::StartsWith, Flavor::Sqlite) => {
                        format!("substr({a}, 1, length({b})) = {b}")
                    }
                    (FieldRefMatch::EndsWith, Flavor::Sqlite) => {
                        format!("substr({a}, -length({b})) = {b}")
                    }
                    (FieldRefMatch::StartsWith, Flavor::Duckdb) => {
                        format!("starts_with({a}, {b})")
                    }
                    (FieldRefMatch::EndsWith, Flavor::Duckdb) => format!("suffix({a}, {b})"),
                })
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
        let table = place.table.as_deref().unwrap_or("events");
        format!(
            "SELECT * FROM {} WHERE {}",
            ident(table),
            super::and_with_source(&SYNTAX, source, rule).text
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv4_networks_become_octet_prefixes() {
        let p = |s: &str| ipv4_prefixes(s.parse().unwrap());
        assert_eq!(p("10.0.0.0/8"), Some(vec!["10.%".to_owned()]));
        assert_eq!(p("192.168.1.7/32"), Some(vec!["192.168.1.7".to_owned()]));
        assert_eq!(
            p("172.16.0.0/14"),
            Some(vec![
                "172.16.%".to_owned(),
                "172.17.%".to_owned(),
                "172.18.%".to_owned(),
                "172.19.%".to_owned()
            ])
        );
        assert_eq!(p("0.0.0.0/0"), None);
    }

    #[test]
    fn ipv6_networks_become_text_prefixes_when_the_text_is_fixed() {
        let p = |s: &str| ipv6_prefixes(s.parse().unwrap());
        assert_eq!(p("::1/128"), Some(vec!["::1".to_owned()]));
        assert_eq!(
            p("fe80::/10"),
            Some(vec![
                "fe8%".into(),
                "fe9%".into(),
                "fea%".into(),
                "feb%".into()
            ])
        );
        assert_eq!(p("fc00::/7"), Some(vec!["fc%".into(), "fd%".into()]));
        assert_eq!(
            p("2a01:111:f403::/48"),
            Some(vec!["2a01:111:f403:%".into()])
        );
        // The third group of 2603:1056::/36 is 0x0000-0x0fff: its digit count varies.
        assert_eq!(p("2603:1056::/36"), None);
    }

    #[test]
    fn like_and_glob_escape_their_specials() {
        let globs = [Glob::Text("a%_\\*[".into()), Glob::Any, Glob::One];
        assert_eq!(like(&globs), "a\\%\\_\\\\*[%_");
        assert_eq!(glob(&globs), "a%_\\[*][[]*?");
    }
}
