//! Exact output of every modifier, escape rule and value form, per target (no pipeline, so
//! that only the dialect is under test). Each case is one selection `sel` of a
//! process_creation rule; the expected text is what the target must receive.

mod common;

use sigrun_convert::{Options, Target, convert};

/// Converts the selection to each listed target and compares the query (or the error).
fn check(selection: &str, expected: &[(Target, Result<&str, &str>)]) {
    let rule = common::selection("{product: windows, category: process_creation}", selection);
    assert_eq!(expected.len(), Target::ALL.len(), "every target is listed");
    for (target, want) in expected {
        let got = convert(&rule, *target, None, &Options::default())
            .map(|c| c.text())
            .map_err(|e| e.to_string());
        let got = got.as_ref().map(String::as_str).map_err(String::as_str);
        assert_eq!(got, *want, "{target} for {selection}");
    }
}

#[test]
fn equals() {
    check(
        "Image: 'C:\\Windows\\System32\\cmd.exe'",
        &[
            (
                Target::Kusto,
                Ok("Image =~ \"C:\\\\Windows\\\\System32\\\\cmd.exe\""),
            ),
            (
                Target::Lucene,
                Ok("Image:\"C\\:\\\\Windows\\\\System32\\\\cmd.exe\""),
            ),
            (
                Target::Graylog,
                Ok("Image:\"C\\:\\\\Windows\\\\System32\\\\cmd.exe\""),
            ),
            (
                Target::Eql,
                Ok("any where Image : \"C:\\\\Windows\\\\System32\\\\cmd.exe\""),
            ),
            (
                Target::Esql,
                Ok("FROM *\n| WHERE TO_LOWER(Image) == \"c:\\\\windows\\\\system32\\\\cmd.exe\""),
            ),
            (
                Target::Splunk,
                Ok("Image=\"C:\\\\Windows\\\\System32\\\\cmd.exe\""),
            ),
            (
                Target::Sqlite,
                Ok(
                    "SELECT * FROM \"events\" WHERE \"Image\" LIKE 'C:\\\\Windows\\\\System32\\\\cmd.exe' ESCAPE '\\'",
                ),
            ),
            (
                Target::Duckdb,
                Ok(
                    "SELECT * FROM \"events\" WHERE \"Image\" ILIKE 'C:\\\\Windows\\\\System32\\\\cmd.exe' ESCAPE '\\'",
                ),
            ),
        ],
    );
}

#[test]
fn contains() {
    check(
        "CommandLine|contains: ' -enc '",
        &[
            (Target::Kusto, Ok("CommandLine contains \" -enc \"")),
            (Target::Lucene, Ok("CommandLine:*\\ \\-enc\\ *")),
            (Target::Graylog, Ok("CommandLine:*\\ \\-enc\\ *")),
            (Target::Eql, Ok("any where CommandLine : \"* -enc *\"")),
            (
                Target::Esql,
                Ok("FROM *\n| WHERE TO_LOWER(CommandLine) LIKE \"* -enc *\""),
            ),
            (Target::Splunk, Ok("CommandLine=\"* -enc *\"")),
            (
                Target::Sqlite,
                Ok("SELECT * FROM \"events\" WHERE \"CommandLine\" LIKE '% -enc %' ESCAPE '\\'"),
            ),
            (
                Target::Duckdb,
                Ok("SELECT * FROM \"events\" WHERE \"CommandLine\" ILIKE '% -enc %' ESCAPE '\\'"),
            ),
        ],
    );
}

#[test]
fn startswith() {
    check(
        "Image|startswith: 'C:\\Temp\\'",
        &[
            (Target::Kusto, Ok("Image startswith \"C:\\\\Temp\\\\\"")),
            (Target::Lucene, Ok("Image:C\\:\\\\Temp\\\\*")),
            (Target::Graylog, Ok("Image:C\\:\\\\Temp\\\\*")),
            (Target::Eql, Ok("any where Image : \"C:\\\\Temp\\\\*\"")),
            (
                Target::Esql,
                Ok("FROM *\n| WHERE TO_LOWER(Image) LIKE \"c:\\\\\\\\temp\\\\\\\\*\""),
            ),
            (Target::Splunk, Ok("Image=\"C:\\\\Temp\\\\*\"")),
            (
                Target::Sqlite,
                Ok("SELECT * FROM \"events\" WHERE \"Image\" LIKE 'C:\\\\Temp\\\\%' ESCAPE '\\'"),
            ),
            (
                Target::Duckdb,
                Ok("SELECT * FROM \"events\" WHERE \"Image\" ILIKE 'C:\\\\Temp\\\\%' ESCAPE '\\'"),
            ),
        ],
    );
}

#[test]
fn endswith() {
    check(
        "Image|endswith: '\\cmd.exe'",
        &[
            (Target::Kusto, Ok("Image endswith \"\\\\cmd.exe\"")),
            (Target::Lucene, Ok("Image:*\\\\cmd.exe")),
            (Target::Graylog, Ok("Image:*\\\\cmd.exe")),
            (Target::Eql, Ok("any where Image : \"*\\\\cmd.exe\"")),
            (
                Target::Esql,
                Ok("FROM *\n| WHERE TO_LOWER(Image) LIKE \"*\\\\\\\\cmd.exe\""),
            ),
            (Target::Splunk, Ok("Image=\"*\\\\cmd.exe\"")),
            (
                Target::Sqlite,
                Ok("SELECT * FROM \"events\" WHERE \"Image\" LIKE '%\\\\cmd.exe' ESCAPE '\\'"),
            ),
            (
                Target::Duckdb,
                Ok("SELECT * FROM \"events\" WHERE \"Image\" ILIKE '%\\\\cmd.exe' ESCAPE '\\'"),
            ),
        ],
    );
}

#[test]
fn glob() {
    check(
        "Image: 'C:\\*\\x?.exe'",
        &[
            (
                Target::Kusto,
                Ok("Image matches regex \"(?i)^C:\\\\*\\\\\\\\x.\\\\.exe$\""),
            ),
            (Target::Lucene, Ok("Image:C\\:\\*\\\\x?.exe")),
            (Target::Graylog, Ok("Image:C\\:\\*\\\\x?.exe")),
            (
                Target::Eql,
                Ok("any where Image regex~ \"C:\\\\*\\\\\\\\x.\\\\.exe\""),
            ),
            (
                Target::Esql,
                Ok("FROM *\n| WHERE TO_LOWER(Image) LIKE \"c:\\\\*\\\\\\\\x?.exe\""),
            ),
            (
                Target::Splunk,
                Ok(
                    "*\n| where match(coalesce(tostring('Image'), \"\"), \"(?i)^C:\\\\*\\\\\\\\x.\\\\.exe$\")",
                ),
            ),
            (
                Target::Sqlite,
                Ok("SELECT * FROM \"events\" WHERE \"Image\" LIKE 'C:*\\\\x_.exe' ESCAPE '\\'"),
            ),
            (
                Target::Duckdb,
                Ok("SELECT * FROM \"events\" WHERE \"Image\" ILIKE 'C:*\\\\x_.exe' ESCAPE '\\'"),
            ),
        ],
    );
}

#[test]
fn cased() {
    check(
        "CommandLine|contains|cased: 'MiMi'",
        &[
            (Target::Kusto, Ok("CommandLine contains_cs \"MiMi\"")),
            (Target::Lucene, Ok("CommandLine:*MiMi*")),
            (Target::Graylog, Ok("CommandLine:*MiMi*")),
            (Target::Eql, Ok("any where CommandLine like \"*MiMi*\"")),
            (
                Target::Esql,
                Ok("FROM *\n| WHERE CommandLine LIKE \"*MiMi*\""),
            ),
            (Target::Splunk, Ok("CommandLine=CASE(\"*MiMi*\")")),
            (
                Target::Sqlite,
                Ok("SELECT * FROM \"events\" WHERE \"CommandLine\" GLOB '*MiMi*'"),
            ),
            (
                Target::Duckdb,
                Ok("SELECT * FROM \"events\" WHERE \"CommandLine\" LIKE '%MiMi%' ESCAPE '\\'"),
            ),
        ],
    );
}

#[test]
fn cased_equals_list() {
    check(
        "Image|cased: ['A', 'B']",
        &[
            (Target::Kusto, Ok("Image in (\"A\", \"B\")")),
            (Target::Lucene, Ok("Image:(\"A\" OR \"B\")")),
            (Target::Graylog, Ok("Image:(\"A\" OR \"B\")")),
            (Target::Eql, Ok("any where Image in (\"A\", \"B\")")),
            (Target::Esql, Ok("FROM *\n| WHERE Image IN (\"A\", \"B\")")),
            (Target::Splunk, Ok("Image=CASE(\"A\") OR Image=CASE(\"B\")")),
            (
                Target::Sqlite,
                Ok("SELECT * FROM \"events\" WHERE \"Image\" IN ('A', 'B')"),
            ),
            (
                Target::Duckdb,
                Ok("SELECT * FROM \"events\" WHERE \"Image\" IN ('A', 'B')"),
            ),
        ],
    );
}

#[test]
fn list_equals() {
    check(
        "Image: ['a.exe', 'b.exe']",
        &[
            (Target::Kusto, Ok("Image in~ (\"a.exe\", \"b.exe\")")),
            (Target::Lucene, Ok("Image:(\"a.exe\" OR \"b.exe\")")),
            (Target::Graylog, Ok("Image:(\"a.exe\" OR \"b.exe\")")),
            (Target::Eql, Ok("any where Image : (\"a.exe\", \"b.exe\")")),
            (
                Target::Esql,
                Ok("FROM *\n| WHERE TO_LOWER(Image) IN (\"a.exe\", \"b.exe\")"),
            ),
            (Target::Splunk, Ok("Image IN (\"a.exe\", \"b.exe\")")),
            (
                Target::Sqlite,
                Ok(
                    "SELECT * FROM \"events\" WHERE \"Image\" LIKE 'a.exe' ESCAPE '\\' OR \"Image\" LIKE 'b.exe' ESCAPE '\\'",
                ),
            ),
            (
                Target::Duckdb,
                Ok(
                    "SELECT * FROM \"events\" WHERE \"Image\" ILIKE 'a.exe' ESCAPE '\\' OR \"Image\" ILIKE 'b.exe' ESCAPE '\\'",
                ),
            ),
        ],
    );
}

#[test]
fn list_contains() {
    check(
        "CommandLine|contains: ['a\"b', 'c d']",
        &[
            (
                Target::Kusto,
                Ok("CommandLine contains \"a\\\"b\" or CommandLine contains \"c d\""),
            ),
            (Target::Lucene, Ok("CommandLine:(*a\\\"b* OR *c\\ d*)")),
            (Target::Graylog, Ok("CommandLine:(*a\\\"b* OR *c\\ d*)")),
            (
                Target::Eql,
                Ok("any where CommandLine : (\"*a\\\"b*\", \"*c d*\")"),
            ),
            (
                Target::Esql,
                Ok(
                    "FROM *\n| WHERE TO_LOWER(CommandLine) LIKE \"*a\\\"b*\" OR TO_LOWER(CommandLine) LIKE \"*c d*\"",
                ),
            ),
            (
                Target::Splunk,
                Ok("CommandLine IN (\"*a\\\"b*\", \"*c d*\")"),
            ),
            (
                Target::Sqlite,
                Ok(
                    "SELECT * FROM \"events\" WHERE \"CommandLine\" LIKE '%a\"b%' ESCAPE '\\' OR \"CommandLine\" LIKE '%c d%' ESCAPE '\\'",
                ),
            ),
            (
                Target::Duckdb,
                Ok(
                    "SELECT * FROM \"events\" WHERE \"CommandLine\" ILIKE '%a\"b%' ESCAPE '\\' OR \"CommandLine\" ILIKE '%c d%' ESCAPE '\\'",
                ),
            ),
        ],
    );
}

#[test]
fn all() {
    check(
        "CommandLine|contains|all: ['x', 'y']",
        &[
            (
                Target::Kusto,
                Ok("CommandLine contains \"x\" and CommandLine contains \"y\""),
            ),
            (Target::Lucene, Ok("(CommandLine:*x* AND CommandLine:*y*)")),
            (Target::Graylog, Ok("(CommandLine:*x* AND CommandLine:*y*)")),
            (
                Target::Eql,
                Ok("any where CommandLine : \"*x*\" and CommandLine : \"*y*\""),
            ),
            (
                Target::Esql,
                Ok(
                    "FROM *\n| WHERE TO_LOWER(CommandLine) LIKE \"*x*\" AND TO_LOWER(CommandLine) LIKE \"*y*\"",
                ),
            ),
            (
                Target::Splunk,
                Ok("CommandLine=\"*x*\" CommandLine=\"*y*\""),
            ),
            (
                Target::Sqlite,
                Ok(
                    "SELECT * FROM \"events\" WHERE \"CommandLine\" LIKE '%x%' ESCAPE '\\' AND \"CommandLine\" LIKE '%y%' ESCAPE '\\'",
                ),
            ),
            (
                Target::Duckdb,
                Ok(
                    "SELECT * FROM \"events\" WHERE \"CommandLine\" ILIKE '%x%' ESCAPE '\\' AND \"CommandLine\" ILIKE '%y%' ESCAPE '\\'",
                ),
            ),
        ],
    );
}

#[test]
fn neq() {
    check(
        "User|neq: 'SYSTEM'",
        &[
            (Target::Kusto, Ok("not(User =~ \"SYSTEM\")")),
            (Target::Lucene, Ok("NOT User:\"SYSTEM\"")),
            (Target::Graylog, Ok("NOT User:\"SYSTEM\"")),
            (
                Target::Eql,
                Ok("any where not (User != null and User : \"SYSTEM\")"),
            ),
            (
                Target::Esql,
                Ok("FROM *\n| WHERE NOT COALESCE(TO_LOWER(User) == \"system\", false)"),
            ),
            (Target::Splunk, Ok("NOT User=\"SYSTEM\"")),
            (
                Target::Sqlite,
                Ok(
                    "SELECT * FROM \"events\" WHERE NOT coalesce(\"User\" LIKE 'SYSTEM' ESCAPE '\\', FALSE)",
                ),
            ),
            (
                Target::Duckdb,
                Ok(
                    "SELECT * FROM \"events\" WHERE NOT coalesce(\"User\" ILIKE 'SYSTEM' ESCAPE '\\', FALSE)",
                ),
            ),
        ],
    );
}

#[test]
fn null() {
    check(
        "CommandLine: null",
        &[
            (Target::Kusto, Ok("isempty(CommandLine)")),
            (Target::Lucene, Ok("NOT _exists_:CommandLine")),
            (Target::Graylog, Ok("NOT _exists_:CommandLine")),
            (Target::Eql, Ok("any where CommandLine == null")),
            (Target::Esql, Ok("FROM *\n| WHERE CommandLine IS NULL")),
            (Target::Splunk, Ok("NOT CommandLine=*")),
            (
                Target::Sqlite,
                Ok(
                    "SELECT * FROM \"events\" WHERE coalesce(CAST(\"CommandLine\" AS VARCHAR), '') = ''",
                ),
            ),
            (
                Target::Duckdb,
                Ok(
                    "SELECT * FROM \"events\" WHERE coalesce(CAST(\"CommandLine\" AS VARCHAR), '') = ''",
                ),
            ),
        ],
    );
}

#[test]
fn exists() {
    check(
        "CommandLine|exists: true",
        &[
            (Target::Kusto, Ok("isnotempty(CommandLine)")),
            (Target::Lucene, Ok("_exists_:CommandLine")),
            (Target::Graylog, Ok("_exists_:CommandLine")),
            (Target::Eql, Ok("any where CommandLine != null")),
            (Target::Esql, Ok("FROM *\n| WHERE CommandLine IS NOT NULL")),
            (Target::Splunk, Ok("CommandLine=*")),
            (
                Target::Sqlite,
                Ok("SELECT * FROM \"events\" WHERE \"CommandLine\" IS NOT NULL"),
            ),
            (
                Target::Duckdb,
                Ok("SELECT * FROM \"events\" WHERE \"CommandLine\" IS NOT NULL"),
            ),
        ],
    );
}

#[test]
fn not_exists() {
    check(
        "CommandLine|exists: false",
        &[
            (Target::Kusto, Ok("isempty(CommandLine)")),
            (Target::Lucene, Ok("NOT _exists_:CommandLine")),
            (Target::Graylog, Ok("NOT _exists_:CommandLine")),
            (Target::Eql, Ok("any where CommandLine == null")),
            (Target::Esql, Ok("FROM *\n| WHERE CommandLine IS NULL")),
            (Target::Splunk, Ok("NOT CommandLine=*")),
            (
                Target::Sqlite,
                Ok("SELECT * FROM \"events\" WHERE \"CommandLine\" IS NULL"),
            ),
            (
                Target::Duckdb,
                Ok("SELECT * FROM \"events\" WHERE \"CommandLine\" IS NULL"),
            ),
        ],
    );
}

#[test]
fn number() {
    check(
        "EventID: 4688",
        &[
            (Target::Kusto, Ok("EventID == 4688")),
            (Target::Lucene, Ok("EventID:\"4688\"")),
            (Target::Graylog, Ok("EventID:\"4688\"")),
            (Target::Eql, Ok("any where EventID == 4688")),
            (Target::Esql, Ok("FROM *\n| WHERE EventID == 4688")),
            (Target::Splunk, Ok("EventID=4688")),
            (
                Target::Sqlite,
                Ok("SELECT * FROM \"events\" WHERE \"EventID\" = 4688"),
            ),
            (
                Target::Duckdb,
                Ok("SELECT * FROM \"events\" WHERE \"EventID\" = 4688"),
            ),
        ],
    );
}

#[test]
fn bool() {
    check(
        "Enabled: true",
        &[
            (Target::Kusto, Ok("Enabled == true")),
            (Target::Lucene, Ok("Enabled:true")),
            (Target::Graylog, Ok("Enabled:true")),
            (Target::Eql, Ok("any where Enabled == true")),
            (Target::Esql, Ok("FROM *\n| WHERE Enabled == true")),
            (Target::Splunk, Ok("Enabled=\"true\"")),
            (
                Target::Sqlite,
                Ok("SELECT * FROM \"events\" WHERE \"Enabled\" = TRUE"),
            ),
            (
                Target::Duckdb,
                Ok("SELECT * FROM \"events\" WHERE \"Enabled\" = TRUE"),
            ),
        ],
    );
}

#[test]
fn regex() {
    check(
        "CommandLine|re: '\\s-e(nc)?\\s+[A-Za-z0-9+/=]{20,}'",
        &[
            (
                Target::Kusto,
                Ok("CommandLine matches regex \"\\\\s-e(nc)?\\\\s+[A-Za-z0-9+/=]{20,}\""),
            ),
            (
                Target::Lucene,
                Ok("CommandLine:/.*[ \t\n\r]\\-e(nc)?[ \t\n\r]+[A-Za-z0-9\\+\\/\\=]{20,}.*/"),
            ),
            (
                Target::Graylog,
                Ok("CommandLine:/.*[ \t\n\r]\\-e(nc)?[ \t\n\r]+[A-Za-z0-9\\+\\/\\=]{20,}.*/"),
            ),
            (
                Target::Eql,
                Ok(
                    "any where CommandLine regex \".*[ \\t\\n\\r]\\\\-e(nc)?[ \\t\\n\\r]+[A-Za-z0-9\\\\+\\\\/\\\\=]{20,}.*\"",
                ),
            ),
            (
                Target::Esql,
                Ok(
                    "FROM *\n| WHERE CommandLine RLIKE \".*[ \\t\\n\\r]\\\\-e(nc)?[ \\t\\n\\r]+[A-Za-z0-9\\\\+\\\\/\\\\=]{20,}.*\"",
                ),
            ),
            (
                Target::Splunk,
                Ok("*\n| regex CommandLine=\"\\\\s-e(nc)?\\\\s+[A-Za-z0-9+/=]{20,}\""),
            ),
            (
                Target::Sqlite,
                Ok(
                    "SELECT * FROM \"events\" WHERE \"CommandLine\" REGEXP '\\s-e(nc)?\\s+[A-Za-z0-9+/=]{20,}'",
                ),
            ),
            (
                Target::Duckdb,
                Ok(
                    "SELECT * FROM \"events\" WHERE regexp_matches(\"CommandLine\", '\\s-e(nc)?\\s+[A-Za-z0-9+/=]{20,}')",
                ),
            ),
        ],
    );
}

#[test]
fn regex_i() {
    check(
        "CommandLine|re|i: '^abc$'",
        &[
            (Target::Kusto, Ok("CommandLine matches regex \"(?i)^abc$\"")),
            (Target::Lucene, Ok("CommandLine:/[aA][bB][cC]/")),
            (Target::Graylog, Ok("CommandLine:/[aA][bB][cC]/")),
            (Target::Eql, Ok("any where CommandLine regex~ \"abc\"")),
            (
                Target::Esql,
                Ok("FROM *\n| WHERE CommandLine RLIKE \"[aA][bB][cC]\""),
            ),
            (Target::Splunk, Ok("*\n| regex CommandLine=\"(?i)^abc$\"")),
            (
                Target::Sqlite,
                Ok("SELECT * FROM \"events\" WHERE \"CommandLine\" REGEXP '(?i)^abc$'"),
            ),
            (
                Target::Duckdb,
                Ok("SELECT * FROM \"events\" WHERE regexp_matches(\"CommandLine\", '(?i)^abc$')"),
            ),
        ],
    );
}

#[test]
fn cidr4() {
    check(
        "DestinationIp|cidr: '10.0.0.0/8'",
        &[
            (
                Target::Kusto,
                Ok("ipv4_is_in_range(DestinationIp, \"10.0.0.0/8\")"),
            ),
            (Target::Lucene, Ok("DestinationIp:\"10.0.0.0\\/8\"")),
            (Target::Graylog, Ok("DestinationIp:\"10.0.0.0\\/8\"")),
            (
                Target::Eql,
                Ok("any where cidrMatch(DestinationIp, \"10.0.0.0/8\")"),
            ),
            (
                Target::Esql,
                Ok("FROM *\n| WHERE CIDR_MATCH(DestinationIp, \"10.0.0.0/8\")"),
            ),
            (Target::Splunk, Ok("DestinationIp=\"10.0.0.0/8\"")),
            (
                Target::Sqlite,
                Ok("SELECT * FROM \"events\" WHERE \"DestinationIp\" LIKE '10.%'"),
            ),
            (
                Target::Duckdb,
                Ok("SELECT * FROM \"events\" WHERE \"DestinationIp\" ILIKE '10.%'"),
            ),
        ],
    );
}

#[test]
fn cidr6() {
    check(
        "DestinationIp|cidr: 'fe80::/10'",
        &[
            (
                Target::Kusto,
                Ok("ipv6_is_in_range(DestinationIp, \"fe80::/10\")"),
            ),
            (Target::Lucene, Ok("DestinationIp:\"fe80\\:\\:\\/10\"")),
            (Target::Graylog, Ok("DestinationIp:\"fe80\\:\\:\\/10\"")),
            (
                Target::Eql,
                Ok("any where cidrMatch(DestinationIp, \"fe80::/10\")"),
            ),
            (
                Target::Esql,
                Ok("FROM *\n| WHERE CIDR_MATCH(DestinationIp, \"fe80::/10\")"),
            ),
            (Target::Splunk, Ok("DestinationIp=\"fe80::/10\"")),
            (
                Target::Sqlite,
                Ok(
                    "SELECT * FROM \"events\" WHERE \"DestinationIp\" LIKE 'fe8%' OR \"DestinationIp\" LIKE 'fe9%' OR \"DestinationIp\" LIKE 'fea%' OR \"DestinationIp\" LIKE 'feb%'",
                ),
            ),
            (
                Target::Duckdb,
                Ok(
                    "SELECT * FROM \"events\" WHERE \"DestinationIp\" ILIKE 'fe8%' OR \"DestinationIp\" ILIKE 'fe9%' OR \"DestinationIp\" ILIKE 'fea%' OR \"DestinationIp\" ILIKE 'feb%'",
                ),
            ),
        ],
    );
}

#[test]
fn gte() {
    check(
        "DestinationPort|gte: 1024",
        &[
            (Target::Kusto, Ok("todouble(DestinationPort) >= 1024")),
            (Target::Lucene, Ok("DestinationPort:>=1024")),
            (Target::Graylog, Ok("DestinationPort:>=1024")),
            (Target::Eql, Ok("any where DestinationPort >= 1024")),
            (Target::Esql, Ok("FROM *\n| WHERE DestinationPort >= 1024")),
            (Target::Splunk, Ok("DestinationPort>=1024")),
            (
                Target::Sqlite,
                Ok("SELECT * FROM \"events\" WHERE CAST(\"DestinationPort\" AS REAL) >= 1024"),
            ),
            (
                Target::Duckdb,
                Ok(
                    "SELECT * FROM \"events\" WHERE TRY_CAST(\"DestinationPort\" AS DOUBLE) >= 1024",
                ),
            ),
        ],
    );
}

#[test]
fn fieldref() {
    check(
        "ParentImage|fieldref: Image",
        &[
            (Target::Kusto, Ok("ParentImage =~ Image")),
            (
                Target::Lucene,
                Err(
                    "lucene cannot express fieldref on field 'ParentImage': a query string cannot compare two fields",
                ),
            ),
            (
                Target::Graylog,
                Err(
                    "graylog cannot express fieldref on field 'ParentImage': a query string cannot compare two fields",
                ),
            ),
            (
                Target::Eql,
                Err(
                    "eql cannot express fieldref on field 'ParentImage': EQL compares two fields only case-sensitively (==), and Sigma compares case-insensitively",
                ),
            ),
            (
                Target::Esql,
                Ok("FROM *\n| WHERE TO_LOWER(ParentImage) == TO_LOWER(Image)"),
            ),
            (
                Target::Splunk,
                Ok("*\n| where lower('ParentImage')=lower('Image')"),
            ),
            (
                Target::Sqlite,
                Ok("SELECT * FROM \"events\" WHERE lower(\"ParentImage\") = lower(\"Image\")"),
            ),
            (
                Target::Duckdb,
                Ok("SELECT * FROM \"events\" WHERE lower(\"ParentImage\") = lower(\"Image\")"),
            ),
        ],
    );
}

#[test]
fn fieldref_ends() {
    check(
        "CommandLine|fieldref|endswith: Image",
        &[
            (Target::Kusto, Ok("CommandLine endswith Image")),
            (
                Target::Lucene,
                Err(
                    "lucene cannot express fieldref on field 'CommandLine': a query string cannot compare two fields",
                ),
            ),
            (
                Target::Graylog,
                Err(
                    "graylog cannot express fieldref on field 'CommandLine': a query string cannot compare two fields",
                ),
            ),
            (Target::Eql, Ok("any where endsWith~(CommandLine, Image)")),
            (
                Target::Esql,
                Ok("FROM *\n| WHERE ENDS_WITH(TO_LOWER(CommandLine), TO_LOWER(Image))"),
            ),
            (
                Target::Splunk,
                Ok(
                    "*\n| where substr(lower('CommandLine'), len(lower('CommandLine'))-len(lower('Image'))+1)=lower('Image')",
                ),
            ),
            (
                Target::Sqlite,
                Ok(
                    "SELECT * FROM \"events\" WHERE substr(lower(\"CommandLine\"), -length(lower(\"Image\"))) = lower(\"Image\")",
                ),
            ),
            (
                Target::Duckdb,
                Ok(
                    "SELECT * FROM \"events\" WHERE suffix(lower(\"CommandLine\"), lower(\"Image\"))",
                ),
            ),
        ],
    );
}

#[test]
fn hour() {
    check(
        "UtcTime|hour: 3",
        &[
            (
                Target::Kusto,
                Ok("datetime_part(\"hour\", todatetime(UtcTime)) == 3"),
            ),
            (
                Target::Lucene,
                Err(
                    "lucene cannot express time part 'hour' on field 'UtcTime': a query string cannot extract part of a date",
                ),
            ),
            (
                Target::Graylog,
                Err(
                    "graylog cannot express time part 'hour' on field 'UtcTime': a query string cannot extract part of a date",
                ),
            ),
            (
                Target::Eql,
                Err(
                    "eql cannot express time part 'hour' on field 'UtcTime': EQL has no date-part function",
                ),
            ),
            (
                Target::Esql,
                Ok("FROM *\n| WHERE DATE_EXTRACT(\"HOUR_OF_DAY\", UtcTime) == 3"),
            ),
            (
                Target::Splunk,
                Err(
                    "splunk cannot express time part 'hour' on field 'UtcTime': the field's date format is unknown, so SPL cannot extract part of it",
                ),
            ),
            (
                Target::Sqlite,
                Ok(
                    "SELECT * FROM \"events\" WHERE CAST(strftime('%H', \"UtcTime\") AS INTEGER) = 3",
                ),
            ),
            (
                Target::Duckdb,
                Ok(
                    "SELECT * FROM \"events\" WHERE date_part('hour', TRY_CAST(\"UtcTime\" AS TIMESTAMP)) = 3",
                ),
            ),
        ],
    );
}

#[test]
fn windash() {
    check(
        "CommandLine|windash|contains: ' -f '",
        &[
            (
                Target::Kusto,
                Ok(
                    "CommandLine contains \" -f \" or CommandLine contains \" /f \" or CommandLine contains \" –f \" or CommandLine contains \" —f \" or CommandLine contains \" ―f \"",
                ),
            ),
            (
                Target::Lucene,
                Ok(
                    "CommandLine:(*\\ \\-f\\ * OR *\\ \\/f\\ * OR *\\ –f\\ * OR *\\ —f\\ * OR *\\ ―f\\ *)",
                ),
            ),
            (
                Target::Graylog,
                Ok(
                    "CommandLine:(*\\ \\-f\\ * OR *\\ \\/f\\ * OR *\\ –f\\ * OR *\\ —f\\ * OR *\\ ―f\\ *)",
                ),
            ),
            (
                Target::Eql,
                Ok(
                    "any where CommandLine : (\"* -f *\", \"* /f *\", \"* –f *\", \"* —f *\", \"* ―f *\")",
                ),
            ),
            (
                Target::Esql,
                Ok(
                    "FROM *\n| WHERE TO_LOWER(CommandLine) LIKE \"* -f *\" OR TO_LOWER(CommandLine) LIKE \"* /f *\" OR TO_LOWER(CommandLine) LIKE \"* –f *\" OR TO_LOWER(CommandLine) LIKE \"* —f *\" OR TO_LOWER(CommandLine) LIKE \"* ―f *\"",
                ),
            ),
            (
                Target::Splunk,
                Ok("CommandLine IN (\"* -f *\", \"* /f *\", \"* –f *\", \"* —f *\", \"* ―f *\")"),
            ),
            (
                Target::Sqlite,
                Ok(
                    "SELECT * FROM \"events\" WHERE \"CommandLine\" LIKE '% -f %' ESCAPE '\\' OR \"CommandLine\" LIKE '% /f %' ESCAPE '\\' OR \"CommandLine\" LIKE '% –f %' ESCAPE '\\' OR \"CommandLine\" LIKE '% —f %' ESCAPE '\\' OR \"CommandLine\" LIKE '% ―f %' ESCAPE '\\'",
                ),
            ),
            (
                Target::Duckdb,
                Ok(
                    "SELECT * FROM \"events\" WHERE \"CommandLine\" ILIKE '% -f %' ESCAPE '\\' OR \"CommandLine\" ILIKE '% /f %' ESCAPE '\\' OR \"CommandLine\" ILIKE '% –f %' ESCAPE '\\' OR \"CommandLine\" ILIKE '% —f %' ESCAPE '\\' OR \"CommandLine\" ILIKE '% ―f %' ESCAPE '\\'",
                ),
            ),
        ],
    );
}

#[test]
fn base64offset() {
    check(
        "CommandLine|base64offset|contains: 'abc'",
        &[
            (
                Target::Kusto,
                Ok(
                    "CommandLine contains \"YWJj\" or CommandLine contains \"FiY\" or CommandLine contains \"hYm\"",
                ),
            ),
            (Target::Lucene, Ok("CommandLine:(*YWJj* OR *FiY* OR *hYm*)")),
            (
                Target::Graylog,
                Ok("CommandLine:(*YWJj* OR *FiY* OR *hYm*)"),
            ),
            (
                Target::Eql,
                Ok("any where CommandLine : (\"*YWJj*\", \"*FiY*\", \"*hYm*\")"),
            ),
            (
                Target::Esql,
                Ok(
                    "FROM *\n| WHERE TO_LOWER(CommandLine) LIKE \"*ywjj*\" OR TO_LOWER(CommandLine) LIKE \"*fiy*\" OR TO_LOWER(CommandLine) LIKE \"*hym*\"",
                ),
            ),
            (
                Target::Splunk,
                Ok("CommandLine IN (\"*YWJj*\", \"*FiY*\", \"*hYm*\")"),
            ),
            (
                Target::Sqlite,
                Ok(
                    "SELECT * FROM \"events\" WHERE \"CommandLine\" LIKE '%YWJj%' ESCAPE '\\' OR \"CommandLine\" LIKE '%FiY%' ESCAPE '\\' OR \"CommandLine\" LIKE '%hYm%' ESCAPE '\\'",
                ),
            ),
            (
                Target::Duckdb,
                Ok(
                    "SELECT * FROM \"events\" WHERE \"CommandLine\" ILIKE '%YWJj%' ESCAPE '\\' OR \"CommandLine\" ILIKE '%FiY%' ESCAPE '\\' OR \"CommandLine\" ILIKE '%hYm%' ESCAPE '\\'",
                ),
            ),
        ],
    );
}

#[test]
fn escape() {
    check(
        "CommandLine: 'a\\*b \"q\" back\\'",
        &[
            (
                Target::Kusto,
                Ok("CommandLine =~ \"a*b \\\"q\\\" back\\\\\""),
            ),
            (
                Target::Lucene,
                Ok("CommandLine:\"a\\*b \\\"q\\\" back\\\\\""),
            ),
            (
                Target::Graylog,
                Ok("CommandLine:\"a\\*b \\\"q\\\" back\\\\\""),
            ),
            (
                Target::Eql,
                Ok("any where CommandLine regex~ \"a\\\\*b \\\\\\\"q\\\\\\\" back\\\\\\\\\""),
            ),
            (
                Target::Esql,
                Ok("FROM *\n| WHERE TO_LOWER(CommandLine) == \"a*b \\\"q\\\" back\\\\\""),
            ),
            (
                Target::Splunk,
                Ok(
                    "*\n| where match(coalesce(tostring('CommandLine'), \"\"), \"(?i)^a\\\\*b \\\"q\\\" back\\\\\\\\$\")",
                ),
            ),
            (
                Target::Sqlite,
                Ok(
                    "SELECT * FROM \"events\" WHERE \"CommandLine\" LIKE 'a*b \"q\" back\\\\' ESCAPE '\\'",
                ),
            ),
            (
                Target::Duckdb,
                Ok(
                    "SELECT * FROM \"events\" WHERE \"CommandLine\" ILIKE 'a*b \"q\" back\\\\' ESCAPE '\\'",
                ),
            ),
        ],
    );
}

#[test]
fn wildcard_only() {
    check(
        "Image: '*'",
        &[
            (Target::Kusto, Ok("Image matches regex \"(?i)^.*$\"")),
            (Target::Lucene, Ok("Image:*")),
            (Target::Graylog, Ok("Image:*")),
            (Target::Eql, Ok("any where Image : \"*\"")),
            (
                Target::Esql,
                Ok("FROM *\n| WHERE TO_LOWER(Image) LIKE \"*\""),
            ),
            (Target::Splunk, Ok("Image=\"*\"")),
            (
                Target::Sqlite,
                Ok("SELECT * FROM \"events\" WHERE \"Image\" LIKE '%' ESCAPE '\\'"),
            ),
            (
                Target::Duckdb,
                Ok("SELECT * FROM \"events\" WHERE \"Image\" ILIKE '%' ESCAPE '\\'"),
            ),
        ],
    );
}

#[test]
fn empty() {
    check(
        "Image: ''",
        &[
            (Target::Kusto, Ok("Image =~ \"\"")),
            (Target::Lucene, Ok("Image:\"\"")),
            (Target::Graylog, Ok("Image:\"\"")),
            (Target::Eql, Ok("any where Image : \"\"")),
            (Target::Esql, Ok("FROM *\n| WHERE TO_LOWER(Image) == \"\"")),
            (Target::Splunk, Ok("Image=\"\"")),
            (
                Target::Sqlite,
                Ok("SELECT * FROM \"events\" WHERE \"Image\" LIKE '' ESCAPE '\\'"),
            ),
            (
                Target::Duckdb,
                Ok("SELECT * FROM \"events\" WHERE \"Image\" ILIKE '' ESCAPE '\\'"),
            ),
        ],
    );
}
