//! SQL text as the collector sees it: a small lexer that knows MySQL's literals and comments,
//! used twice — to decide whether a statement is read-only (catalog §3.4) and to mask the
//! literals of statements seen in the processlist, so row data and passwords never leave the
//! collector.
//!
//! The lexer reads a statement the way the server will: string literals end where the
//! session's `sql_mode` says they end (`NO_BACKSLASH_ESCAPES` makes `\` an ordinary
//! character, `ANSI_QUOTES` makes `"…"` an identifier), and executable comments — MySQL's
//! `/*! … */`, `/*!50000 … */`, MariaDB's `/*M! … */`, `/*M!100000 … */` and optimizer hints
//! `/*+ … */` — are code to the server, so a statement holding one is refused.

use super::sql_functions::{ALLOWED_FUNCTIONS, KEYWORDS_BEFORE_PARENTHESIS};

/// The parts of a session's `sql_mode` that change where a literal ends.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SqlMode {
    /// `\` is an ordinary character inside string literals.
    pub no_backslash_escapes: bool,
    /// `"…"` quotes an identifier, not a string.
    pub ansi_quotes: bool,
}

impl SqlMode {
    /// The mode from `@@SESSION.sql_mode` (a comma-separated list; `ANSI` implies ANSI_QUOTES).
    pub fn parse(sql_mode: &str) -> Self {
        let has = |m: &str| {
            sql_mode
                .split(',')
                .any(|part| part.trim().eq_ignore_ascii_case(m))
        };
        SqlMode {
            no_backslash_escapes: has("NO_BACKSLASH_ESCAPES"),
            ansi_quotes: has("ANSI_QUOTES") || has("ANSI"),
        }
    }
}

/// A lexical piece of a statement (comments and whitespace are dropped).
#[derive(Debug, Clone, PartialEq)]
pub enum Token {
    /// A keyword or unquoted identifier, upper-cased.
    Word(String),
    /// A `` `quoted` `` identifier (kept as written, without the backticks).
    Quoted(String),
    /// A string literal ('…' or "…").
    Str,
    /// A numeric literal.
    Number,
    /// `@name` or `@@name`.
    Variable(String),
    /// Any other character (operators, parentheses, `;`, `.`, `,`).
    Punct(char),
}

/// Why a statement could not be lexed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum LexError {
    #[error("an unterminated {0}")]
    Unterminated(&'static str),
    /// `/*! … */`, `/*M! … */` and `/*+ … */` are read by the server: never accepted.
    #[error("an executable comment (/*! … */, /*M! … */ or /*+ … */)")]
    ExecutableComment,
    /// NUL and other control characters end or split statements differently in the server's
    /// lexer and in ours.
    #[error("a control character (U+{0:04X})")]
    ControlCharacter(u32),
    /// Outside literals the server reads non-ASCII letters as parts of identifiers, look-alikes
    /// (a fullwidth `；`) included: our statements never need them.
    #[error("a non-ASCII character `{0}` outside a literal")]
    NonAscii(char),
}

/// Splits a statement into tokens as a session with MySQL's default `sql_mode` reads it.
pub fn tokens(sql: &str) -> Result<Vec<Token>, LexError> {
    tokens_in(sql, SqlMode::default())
}

/// Splits a statement into tokens as a session in `mode` reads it.
pub fn tokens_in(sql: &str, mode: SqlMode) -> Result<Vec<Token>, LexError> {
    let chars: Vec<char> = sql.chars().collect();
    if let Some(c) = chars
        .iter()
        .find(|c| (c.is_control() && !matches!(c, '\t' | '\n' | '\r')) || **c == '\u{feff}')
    {
        return Err(LexError::ControlCharacter(*c as u32));
    }
    let backslash = !mode.no_backslash_escapes;
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        if c.is_ascii_whitespace() {
            i += 1;
        } else if c == '#'
            || (c == '-'
                && next == Some('-')
                && chars.get(i + 2).is_none_or(|c| c.is_ascii_whitespace()))
        {
            while i < chars.len() && chars[i] != '\n' {
                i += 1;
            }
        } else if c == '/' && next == Some('*') {
            let executable = match chars.get(i + 2) {
                Some('!' | '+') => true,
                Some('M' | 'm') => chars.get(i + 3) == Some(&'!'),
                _ => false,
            };
            if executable {
                return Err(LexError::ExecutableComment);
            }
            let end = (i + 2..chars.len().saturating_sub(1))
                .find(|&j| chars[j] == '*' && chars[j + 1] == '/')
                .ok_or(LexError::Unterminated("comment"))?;
            i = end + 2;
        } else if c == '\'' || (c == '"' && !mode.ansi_quotes) {
            i = skip_quoted(&chars, i, c, backslash)
                .ok_or(LexError::Unterminated("string literal"))?;
            out.push(Token::Str);
        } else if c == '`' || c == '"' {
            let start = i + 1;
            i = skip_quoted(&chars, i, c, false)
                .ok_or(LexError::Unterminated("quoted identifier"))?;
            out.push(Token::Quoted(chars[start..i - 1].iter().collect()));
        } else if !c.is_ascii() {
            return Err(LexError::NonAscii(c));
        } else if c.is_ascii_digit() || (c == '.' && next.is_some_and(|n| n.is_ascii_digit())) {
            while i < chars.len() && (chars[i].is_ascii_alphanumeric() || chars[i] == '.') {
                i += 1;
            }
            out.push(Token::Number);
        } else if c == '@' {
            let start = i;
            while i < chars.len() && (chars[i] == '@' || is_word_char(chars[i]) || chars[i] == '.')
            {
                i += 1;
            }
            out.push(Token::Variable(
                chars[start..i]
                    .iter()
                    .collect::<String>()
                    .to_ascii_uppercase(),
            ));
        } else if is_word_char(c) {
            let start = i;
            while i < chars.len() && is_word_char(chars[i]) {
                i += 1;
            }
            out.push(Token::Word(
                chars[start..i]
                    .iter()
                    .collect::<String>()
                    .to_ascii_uppercase(),
            ));
        } else {
            out.push(Token::Punct(c));
            i += 1;
        }
    }
    Ok(out)
}

fn is_word_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_' || c == '$'
}

/// The index just past the closing quote; `None` if unterminated. Doubled quotes are honoured,
/// and backslash escapes when `backslash` (MySQL's default SQL mode, in string literals only).
fn skip_quoted(chars: &[char], start: usize, quote: char, backslash: bool) -> Option<usize> {
    let mut i = start + 1;
    while i < chars.len() {
        let c = chars[i];
        if c == '\\' && backslash {
            i += 2;
        } else if c == quote {
            if chars.get(i + 1) == Some(&quote) {
                i += 2;
            } else {
                return Some(i + 1);
            }
        } else {
            i += 1;
        }
    }
    None
}

/// A statement with every string and number literal replaced by `?`, comments dropped and
/// whitespace collapsed — like a performance_schema digest, so it can be shown and sent.
/// Text that cannot be lexed is withheld entirely.
pub fn mask_literals(sql: &str) -> String {
    // Whether `\'` escapes the quote depends on the sql_mode of the session that sent the
    // statement (NO_BACKSLASH_ESCAPES), which is not ours to know: under one reading a literal
    // ends where under the other it goes on, and what one masks the other would show. When the
    // two readings can differ, nothing of the text is shown.
    if sql.contains("\\'") || sql.contains("\\\"") {
        return "(statement text withheld: a backslash before a quote reads two ways)".into();
    }
    let chars: Vec<char> = sql.chars().collect();
    let mut out = String::with_capacity(sql.len());
    let mut i = 0;
    let mut pending_space = false;
    let push = |out: &mut String, text: &str, pending: &mut bool| {
        if *pending && !out.is_empty() {
            out.push(' ');
        }
        *pending = false;
        out.push_str(text);
    };
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        if c.is_whitespace() {
            pending_space = true;
            i += 1;
        } else if c == '#' || (c == '-' && next == Some('-')) {
            while i < chars.len() && chars[i] != '\n' {
                i += 1;
            }
            pending_space = true;
        } else if c == '/' && next == Some('*') {
            match (i + 2..chars.len().saturating_sub(1))
                .find(|&j| chars[j] == '*' && chars[j + 1] == '/')
            {
                Some(end) => i = end + 2,
                None => return "(statement text withheld: unterminated comment)".into(),
            }
            pending_space = true;
        } else if c == '\'' || c == '"' {
            match skip_quoted(&chars, i, c, true) {
                Some(end) => i = end,
                // A statement cut by LEFT(INFO, n) ends inside a literal: mask to the end.
                None => i = chars.len(),
            }
            push(&mut out, "?", &mut pending_space);
        } else if c.is_ascii_digit() && (pending_space || !out.ends_with(is_word_char)) {
            while i < chars.len() && (chars[i].is_ascii_alphanumeric() || chars[i] == '.') {
                i += 1;
            }
            push(&mut out, "?", &mut pending_space);
        } else {
            let mut s = [0u8; 4];
            push(&mut out, c.encode_utf8(&mut s), &mut pending_space);
            i += 1;
        }
    }
    out
}

/// Why the collector refuses to send a statement.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum GuardError {
    #[error("not a read-only statement: {0}")]
    NotReadOnly(String),
    #[error("cannot be checked: {0}")]
    Unparseable(#[from] LexError),
}

/// Functions with side effects (locks, sleeps, file reads, sequences) — refused even in a SELECT.
const SIDE_EFFECT_FUNCTIONS: &[&str] = &[
    "GET_LOCK",
    "RELEASE_LOCK",
    "RELEASE_ALL_LOCKS",
    "IS_FREE_LOCK",
    "SLEEP",
    "BENCHMARK",
    "LOAD_FILE",
    "NEXTVAL",
    "SETVAL",
    "MASTER_POS_WAIT",
    "SOURCE_POS_WAIT",
    "WAIT_FOR_EXECUTED_GTID_SET",
    "MASTER_GTID_WAIT",
    "SYS_EXEC",
    "SYS_EVAL",
];

/// Keywords that make a SELECT/WITH write or lock, wherever they appear.
const WRITING_WORDS: &[&str] = &[
    "INTO",
    "OUTFILE",
    "DUMPFILE",
    "UPDATE",
    "DELETE",
    "INSERT",
    "REPLACE",
    "SHARE",
    "LOCK",
    "CALL",
    "HANDLER",
    "PROCEDURE",
];

/// The read-only classification of catalog §3.4 for a session in MySQL's default `sql_mode`.
pub fn check_read_only(sql: &str) -> Result<(), GuardError> {
    check_read_only_in(sql, SqlMode::default())
}

/// The read-only classification of catalog §3.4, lexed as a session in `mode` reads it: one
/// statement (no `;`), starting with SELECT, WITH … SELECT, SHOW, DESCRIBE/DESC or EXPLAIN of a
/// SELECT; no INTO, FOR UPDATE/SHARE, LOCK IN SHARE MODE, PROCEDURE, `:=`, executable comments,
/// and no function call but the builtins of [`ALLOWED_FUNCTIONS`] — a schema-qualified, quoted
/// or unknown name may be a stored function that writes.
pub fn check_read_only_in(sql: &str, mode: SqlMode) -> Result<(), GuardError> {
    let toks = tokens_in(sql, mode)?;
    let refuse = |why: &str| Err(GuardError::NotReadOnly(why.to_string()));
    if toks.contains(&Token::Punct(';')) {
        return refuse("more than one statement (`;`)");
    }
    if toks.contains(&Token::Punct('\\')) {
        return refuse("a backslash outside a literal (`\\G`, `\\N`, a client command)");
    }
    let Some(Token::Word(first)) = toks.first() else {
        return refuse("it does not start with a keyword");
    };
    let body: &[Token] = match first.as_str() {
        "SHOW" => return Ok(()),
        "DESCRIBE" | "DESC" if !matches!(toks.get(1), Some(Token::Word(w)) if w == "ANALYZE") => {
            return Ok(());
        }
        "EXPLAIN" => {
            let mut rest = &toks[1..];
            // EXPLAIN FORMAT=JSON / EXTENDED / PARTITIONS SELECT …
            while let Some(Token::Word(w)) = rest.first() {
                match w.as_str() {
                    "FORMAT" => rest = rest.get(3..).unwrap_or(&[]),
                    "EXTENDED" | "PARTITIONS" => rest = &rest[1..],
                    _ => break,
                }
            }
            match rest.first() {
                Some(Token::Word(w)) if w == "SELECT" || w == "WITH" => rest,
                Some(Token::Word(w)) if w == "ANALYZE" => {
                    return refuse("EXPLAIN ANALYZE executes the statement");
                }
                _ => return refuse("EXPLAIN is allowed for SELECT statements only"),
            }
        }
        "SELECT" | "WITH" => &toks[..],
        other => return refuse(&format!("`{other}` is not in the read-only allowlist")),
    };
    for (i, t) in body.iter().enumerate() {
        let called = matches!(body.get(i + 1), Some(Token::Punct('(')));
        match t {
            // INSERT(str, …) and REPLACE(str, …) are also string functions.
            Token::Word(w) if (w == "INSERT" || w == "REPLACE") && called => {}
            Token::Word(w) if WRITING_WORDS.contains(&w.as_str()) => {
                // `FOR UPDATE`, `LOCK IN SHARE MODE`, `INTO OUTFILE|@v`, a CTE feeding UPDATE …
                return refuse(&format!("`{w}` writes or takes locks"));
            }
            Token::Word(w) if called && SIDE_EFFECT_FUNCTIONS.contains(&w.as_str()) => {
                return refuse(&format!("{w}() has side effects"));
            }
            Token::Punct(':') if matches!(body.get(i + 1), Some(Token::Punct('='))) => {
                return refuse("`:=` assigns a variable");
            }
            Token::Punct('.')
                if matches!(body.get(i + 2), Some(Token::Punct('(')))
                    && matches!(body.get(i + 1), Some(Token::Word(_) | Token::Quoted(_))) =>
            {
                return refuse(
                    "a schema-qualified function call may be a stored function that writes",
                );
            }
            Token::Quoted(name) if called => {
                return refuse(&format!(
                    "`{name}`() is a quoted function name: it may be a stored function that writes"
                ));
            }
            Token::Word(w)
                if called
                    && !ALLOWED_FUNCTIONS.contains(&w.as_str())
                    && !KEYWORDS_BEFORE_PARENTHESIS.contains(&w.as_str()) =>
            {
                return refuse(&format!(
                    "{w}() is not a builtin function on the allowlist: it may be a stored function that writes"
                ));
            }
            _ => {}
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn read_only_statements_pass() {
        for sql in [
            "SHOW GLOBAL STATUS",
            "show engine innodb status",
            "SHOW REPLICA STATUS",
            "SELECT VERSION(), @@version_comment",
            "SELECT ID, LEFT(INFO, 512) FROM information_schema.PROCESSLIST WHERE COMMAND <> 'Sleep'",
            "WITH t AS (SELECT 1 AS a) SELECT a FROM t",
            "EXPLAIN SELECT * FROM orders WHERE id = 5",
            "EXPLAIN FORMAT=JSON SELECT 1",
            "DESCRIBE orders",
            "SELECT 'a;b' AS semicolon_in_a_literal",
            "SELECT update_time FROM information_schema.TABLES",
            "/* a comment */ SELECT 1 -- trailing\n",
            "SELECT COUNT(*) FROM sys.innodb_lock_waits",
            "SELECT REPLACE(host, ':', '') FROM information_schema.PROCESSLIST",
        ] {
            assert_eq!(check_read_only(sql), Ok(()), "{sql}");
        }
    }

    #[test]
    fn writes_locks_and_tricks_are_refused() {
        for (sql, why) in [
            ("SELECT 1; DROP TABLE t", "`;`"),
            ("SELECT 1;", "`;`"),
            ("DROP TABLE t", "`DROP`"),
            ("SET GLOBAL max_connections = 10", "`SET`"),
            ("KILL 5", "`KILL`"),
            ("FLUSH STATUS", "`FLUSH`"),
            ("ANALYZE TABLE t", "`ANALYZE`"),
            ("ANALYZE SELECT * FROM t", "`ANALYZE`"),
            ("EXPLAIN ANALYZE SELECT 1", "executes"),
            ("EXPLAIN UPDATE t SET a = 1", "SELECT statements only"),
            ("SELECT GET_LOCK('x', 0)", "GET_LOCK"),
            ("SELECT sleep (5)", "SLEEP"),
            ("SELECT * FROM t FOR UPDATE", "`UPDATE`"),
            ("SELECT * FROM t LOCK IN SHARE MODE", "`LOCK`"),
            ("SELECT * FROM t FOR SHARE", "`SHARE`"),
            ("SELECT 1 INTO OUTFILE '/tmp/x'", "`INTO`"),
            ("SELECT @a := 1", "`:=`"),
            ("WITH c AS (SELECT 1) UPDATE t SET a = 1", "`UPDATE`"),
            ("SELECT app.purge_sessions()", "schema-qualified"),
            ("/*! DROP TABLE t */ SELECT 1", "executable comment"),
            ("SELECT 'unterminated", "unterminated"),
            ("CALL p()", "`CALL`"),
            ("", "keyword"),
        ] {
            let err = check_read_only(sql).unwrap_err().to_string();
            assert!(err.contains(why), "{sql}: {err}");
        }
    }

    #[test]
    fn the_session_sql_mode_decides_where_literals_end() {
        let nbe = SqlMode::parse("STRICT_TRANS_TABLES,NO_BACKSLASH_ESCAPES");
        let ansi = SqlMode::parse("REAL_AS_FLOAT,PIPES_AS_CONCAT,ANSI_QUOTES,IGNORE_SPACE,ANSI");
        assert_eq!(
            (nbe.no_backslash_escapes, nbe.ansi_quotes, ansi.ansi_quotes),
            (true, false, true)
        );
        assert_eq!(SqlMode::parse(""), SqlMode::default());
        // The reported injection: one literal with backslash escapes, three statements without.
        let injected = "SELECT '\\' ; SET GLOBAL max_connections=9; -- '";
        assert_eq!(check_read_only(injected), Ok(()), "one literal by default");
        let err = check_read_only_in(injected, nbe).unwrap_err().to_string();
        assert!(err.contains("`;`"), "{err}");
        let err = check_read_only_in(&format!("EXPLAIN {injected}"), nbe).unwrap_err();
        assert!(err.to_string().contains("`;`"), "{err}");
        // ANSI_QUOTES: `"\"` is an identifier without escapes, so the `;` is code.
        let injected = "SELECT \"\\\" ; SET GLOBAL max_connections=9; -- \"";
        assert_eq!(check_read_only(injected), Ok(()), "one string by default");
        assert!(check_read_only_in(injected, ansi).is_err());
        // … and a quoted name before `(` is a (stored) function call.
        let err = check_read_only_in("SELECT \"app\".\"purge\"()", ansi).unwrap_err();
        assert!(err.to_string().contains("schema-qualified"), "{err}");
        // Backslashes are ordinary characters in NO_BACKSLASH_ESCAPES, escapes otherwise.
        assert_eq!(check_read_only_in("SELECT 'a\\'", nbe), Ok(()));
        assert!(
            check_read_only("SELECT 'a\\'").is_err(),
            "unterminated by default"
        );
    }

    #[test]
    fn executable_comments_control_characters_and_unknown_functions_are_refused() {
        for (sql, why) in [
            ("SELECT 1 /*!50000 , SLEEP(5) */", "executable comment"),
            ("SELECT 1 /*M! , SLEEP(5) */", "executable comment"),
            ("SELECT 1 /*m!100000 , SLEEP(5) */", "executable comment"),
            (
                "SELECT /*+ MAX_EXECUTION_TIME(1) */ 1",
                "executable comment",
            ),
            (
                "SELECT 1 \u{0}; SET GLOBAL max_connections = 9",
                "control character",
            ),
            (
                "SELECT 1\u{ff1b} SET GLOBAL max_connections = 9",
                "non-ASCII",
            ),
            ("SELECT 1 --\u{a0}x", "non-ASCII"),
            ("SELECT 1 \\G", "backslash"),
            (
                "SELECT purge_sessions()",
                "PURGE_SESSIONS() is not a builtin",
            ),
            ("SELECT `sleep`(1)", "quoted function name"),
            ("SELECT LAST_INSERT_ID(9)", "LAST_INSERT_ID"),
            ("SELECT * FROM t PROCEDURE ANALYSE()", "`PROCEDURE`"),
            ("SELECT 1 INTO DUMPFILE '/tmp/x'", "`INTO`"),
        ] {
            let err = check_read_only(sql).unwrap_err().to_string();
            assert!(err.contains(why), "{sql}: {err}");
        }
        // Plain comments and literals may hold anything.
        for sql in [
            "SELECT 1 /* M! not executable: a space first */",
            "SELECT 'ʼ；\u{a0}' FROM t -- ；",
            "SELECT CAST(a AS DECIMAL(10, 2)), COUNT(*) FROM t WHERE b IN (1, 2) AND EXISTS (SELECT 1)",
        ] {
            assert_eq!(check_read_only(sql), Ok(()), "{sql}");
        }
    }

    #[test]
    fn literals_are_masked_and_whitespace_collapsed() {
        for (sql, masked) in [
            (
                "UPDATE users  SET pw = 'hunter2' WHERE id = 42",
                "UPDATE users SET pw = ? WHERE id = ?",
            ),
            (
                "ALTER USER 'app'@'%' IDENTIFIED BY \"s3cr'et\"",
                "ALTER USER ?@? IDENTIFIED BY ?",
            ),
            (
                "SELECT * FROM t2 WHERE a IN (1, 2.5) -- card 4111",
                "SELECT * FROM t2 WHERE a IN (?, ?)",
            ),
            ("SELECT 'it''s' /* x */ FROM t", "SELECT ? FROM t"),
            // Under NO_BACKSLASH_ESCAPES `'a\'` ends at its second quote and `'card-4111'` is
            // a literal; under the default it is the other way round: withheld either way.
            (
                "SELECT 'a\\' , 'card-4111' FROM t",
                "(statement text withheld: a backslash before a quote reads two ways)",
            ),
            (
                "INSERT INTO t VALUES ('cut by LEFT(INFO",
                "INSERT INTO t VALUES (?",
            ),
        ] {
            assert_eq!(mask_literals(sql), masked, "{sql}");
        }
    }
}
