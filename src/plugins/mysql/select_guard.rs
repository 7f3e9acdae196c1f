//! The second guard for SQL the model writes (catalog §3.4): a real SQL parser (`sqlparser`,
//! MySQL dialect) must read it as exactly one plain SELECT — no INTO, no locking read, no
//! `:=`, no executable comment — whose every function call is a builtin on
//! [`ALLOWED_FUNCTIONS`]. The hand-written classifier of `sql_text` must accept it as well;
//! the two are written differently so that one's blind spot is not the other's.
//!
//! This check does not know the session's `sql_mode`, so it refuses what two modes read
//! differently: a backslash anywhere (`NO_BACKSLASH_ESCAPES` decides whether `'\'` ends a
//! string) and a double quote anywhere (`ANSI_QUOTES` decides whether `"…"` is a string or an
//! identifier). A SELECT to EXPLAIN never needs either: strings take single quotes.

use std::ops::ControlFlow;

use sqlparser::ast::{
    Expr, ObjectNamePart, Query, SetExpr, Statement, TableFactor, Visit, Visitor,
};
use sqlparser::dialect::MySqlDialect;
use sqlparser::parser::Parser;
use sqlparser::tokenizer::{Token, Tokenizer};

use super::sql_functions::ALLOWED_FUNCTIONS;
use super::sql_text::GuardError;

/// Accepts `sql` only if it is exactly one plain, side-effect-free SELECT (or WITH … SELECT).
pub fn check_model_select(sql: &str) -> Result<(), GuardError> {
    let refuse = |why: String| Err(GuardError::NotReadOnly(why));
    if let Some(c) = sql.chars().find(|c| matches!(c, '\\' | '"')) {
        return refuse(format!(
            "`{c}` is read differently under NO_BACKSLASH_ESCAPES / ANSI_QUOTES: use single quotes and no backslash"
        ));
    }
    if let Some(c) = sql
        .chars()
        .find(|c| c.is_control() && !matches!(c, '\t' | '\n' | '\r'))
    {
        return refuse(format!("a control character (U+{:04X})", c as u32));
    }
    // The MySQL dialect reads `/*! … */` as code, MariaDB's `/*M! … */` as a comment: refuse
    // both flavours (and optimizer hints) wherever they appear, literals included.
    let lower = sql.to_ascii_lowercase();
    if ["/*!", "/*m!", "/*+"].iter().any(|p| lower.contains(p)) {
        return refuse("an executable comment or optimizer hint (/*! */, /*M! */, /*+ */)".into());
    }
    let dialect = MySqlDialect {};
    let tokens = Tokenizer::new(&dialect, sql)
        .tokenize()
        .map_err(|e| GuardError::NotReadOnly(format!("cannot be tokenized: {e}")))?;
    for token in &tokens {
        match token {
            Token::Whitespace(_) => {}
            Token::SemiColon => return refuse("more than one statement (`;`)".into()),
            Token::Assignment => return refuse("`:=` assigns a variable".into()),
            Token::SingleQuotedString(_)
            | Token::NationalStringLiteral(_)
            | Token::HexStringLiteral(_)
            | Token::SingleQuotedByteStringLiteral(_) => {}
            other if !other.to_string().is_ascii() => {
                return refuse(format!(
                    "a non-ASCII character outside a literal: `{other}`"
                ));
            }
            _ => {}
        }
    }
    let statements = Parser::parse_sql(&dialect, sql)
        .map_err(|e| GuardError::NotReadOnly(format!("not a plain SELECT ({e})")))?;
    let [Statement::Query(query)] = statements.as_slice() else {
        return refuse(format!(
            "exactly one SELECT statement is allowed ({} statements, {})",
            statements.len(),
            statements
                .first()
                .map(|s| s
                    .to_string()
                    .split_whitespace()
                    .next()
                    .unwrap_or("")
                    .to_string())
                .unwrap_or_default()
        ));
    };
    match query.visit(&mut PlainSelect) {
        ControlFlow::Break(why) => refuse(why),
        ControlFlow::Continue(()) => Ok(()),
    }
}

/// Walks every query, expression and table of the statement; breaks with the reason to refuse.
struct PlainSelect;

impl PlainSelect {
    fn body(body: &SetExpr) -> ControlFlow<String> {
        match body {
            SetExpr::Select(select) => {
                if select.into.is_some() {
                    return ControlFlow::Break(
                        "SELECT … INTO writes a table, a file or a variable".into(),
                    );
                }
                if !select.optimizer_hints.is_empty() {
                    return ControlFlow::Break("optimizer hints are not accepted".into());
                }
                ControlFlow::Continue(())
            }
            // A parenthesized query is visited as a query of its own.
            SetExpr::Query(_) => ControlFlow::Continue(()),
            SetExpr::SetOperation { left, right, .. } => {
                Self::body(left)?;
                Self::body(right)
            }
            other => ControlFlow::Break(format!(
                "only SELECT is allowed, not `{}`",
                other.to_string().split_whitespace().next().unwrap_or("")
            )),
        }
    }
}

impl Visitor for PlainSelect {
    type Break = String;

    fn pre_visit_query(&mut self, query: &Query) -> ControlFlow<String> {
        if !query.locks.is_empty() {
            return ControlFlow::Break("a locking read (FOR UPDATE / FOR SHARE)".into());
        }
        if query.for_clause.is_some()
            || query.settings.is_some()
            || query.format_clause.is_some()
            || !query.pipe_operators.is_empty()
        {
            return ControlFlow::Break("a clause a MySQL SELECT does not have".into());
        }
        Self::body(&query.body)
    }

    fn pre_visit_expr(&mut self, expr: &Expr) -> ControlFlow<String> {
        if let Expr::Function(f) = expr {
            let name = f.name.to_string();
            let plain = match f.name.0.as_slice() {
                [ObjectNamePart::Identifier(id)] if id.quote_style.is_none() => {
                    Some(id.value.to_ascii_uppercase())
                }
                _ => None,
            };
            match plain {
                None => {
                    return ControlFlow::Break(format!(
                        "{name}() is a qualified or quoted function name: it may be a stored function that writes"
                    ));
                }
                Some(n) if !ALLOWED_FUNCTIONS.contains(&n.as_str()) => {
                    return ControlFlow::Break(format!(
                        "{n}() is not a builtin function on the allowlist"
                    ));
                }
                Some(_) => {}
            }
        }
        ControlFlow::Continue(())
    }

    fn pre_visit_table_factor(&mut self, table: &TableFactor) -> ControlFlow<String> {
        match table {
            TableFactor::Table { args: None, .. }
            | TableFactor::Derived { .. }
            | TableFactor::NestedJoin { .. }
            | TableFactor::JsonTable { .. } => ControlFlow::Continue(()),
            TableFactor::Table { args: Some(_), .. } => {
                ControlFlow::Break("a table function call".into())
            }
            other => ControlFlow::Break(format!("the table expression `{other}`")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_selects_pass() {
        for sql in [
            "SELECT 1",
            "SELECT * FROM orders WHERE id = 5",
            "select o.id, COUNT(*) AS n FROM shop.orders o JOIN shop.items i ON i.order_id = o.id GROUP BY o.id HAVING n > 2 ORDER BY n DESC LIMIT 10",
            "WITH t AS (SELECT 1 AS a) SELECT a FROM t",
            "SELECT a FROM t WHERE b IN (SELECT b FROM u) UNION ALL SELECT 2",
            "SELECT CONCAT(QUOTE(user), '@', host), LEFT(info, 10), NOW() FROM mysql.user",
            "SELECT 'it''s', N'x', X'41', _binary'abc' /* a comment */ -- trailing\n",
            "SELECT DATE_FORMAT(created, '%Y'), ROUND(AVG(total), 2) FROM orders",
            "SELECT CAST(a AS CHAR), COALESCE(b, 0) FROM t",
            "SELECT @@global.max_connections",
        ] {
            assert_eq!(check_model_select(sql), Ok(()), "{sql}");
        }
    }

    #[test]
    fn anything_but_one_plain_select_is_refused() {
        for (sql, why) in [
            // The reported injection: one string literal to the default mode, three statements
            // under NO_BACKSLASH_ESCAPES.
            (
                "SELECT '\\' ; SET GLOBAL max_connections=9; -- '",
                "NO_BACKSLASH_ESCAPES",
            ),
            ("SELECT \"a\"", "ANSI_QUOTES"),
            ("SELECT 1; SET GLOBAL max_connections = 9", "`;`"),
            ("SELECT 1;", "`;`"),
            ("SET GLOBAL max_connections = 9", "exactly one SELECT"),
            ("KILL 5", "SELECT"),
            ("DO SLEEP(1)", "SELECT"),
            ("CALL p()", "SELECT"),
            ("UPDATE t SET a = 1", "exactly one SELECT"),
            ("WITH c AS (SELECT 1) UPDATE t SET a = 1", "SELECT"),
            ("TABLE t", "SELECT"),
            ("VALUES ROW(1)", "SELECT"),
            ("SELECT * FROM t FOR UPDATE", "locking read"),
            ("SELECT * FROM t FOR SHARE", "locking read"),
            ("SELECT * FROM t LOCK IN SHARE MODE", "SELECT"),
            ("SELECT 1 INTO OUTFILE '/tmp/x'", "SELECT"),
            ("SELECT 1 INTO @v", "SELECT"),
            ("SELECT a INTO t2 FROM t", "INTO"),
            ("SELECT @a := 1", "`:=`"),
            ("SELECT SLEEP(5)", "SLEEP"),
            ("SELECT sleep (5)", "SLEEP"),
            ("SELECT BENCHMARK(1000000, MD5('x'))", "BENCHMARK"),
            ("SELECT GET_LOCK('x', 0)", "GET_LOCK"),
            ("SELECT RELEASE_LOCK('x')", "RELEASE_LOCK"),
            ("SELECT LOAD_FILE('/etc/passwd')", "LOAD_FILE"),
            ("SELECT LAST_INSERT_ID(5)", "LAST_INSERT_ID"),
            ("SELECT purge_sessions()", "PURGE_SESSIONS"),
            ("SELECT app.purge_sessions()", "qualified"),
            ("SELECT `sleep`(5)", "quoted"),
            ("SELECT * FROM t WHERE a = (SELECT SLEEP(1))", "SLEEP"),
            ("SELECT 1 FROM (SELECT GET_LOCK('x', 1)) d", "GET_LOCK"),
            (
                "/*! SET GLOBAL max_connections = 9 */ SELECT 1",
                "executable comment",
            ),
            ("SELECT 1 /*!50000 , SLEEP(5) */", "executable comment"),
            ("SELECT 1 /*M! , SLEEP(5) */", "executable comment"),
            ("SELECT 1 /*M!100000 , SLEEP(5) */", "executable comment"),
            (
                "SELECT /*+ MAX_EXECUTION_TIME(1) */ 1",
                "executable comment",
            ),
            (
                "SELECT 1 \u{0} ; SET GLOBAL max_connections = 9",
                "control character",
            ),
            (
                "SELECT 1\u{ff1b} SET GLOBAL max_connections = 9",
                "non-ASCII",
            ),
            ("SELECT * FROM t PROCEDURE ANALYSE()", "SELECT"),
            ("HANDLER t OPEN", "SELECT"),
            ("", "exactly one SELECT"),
        ] {
            let err = check_model_select(sql).expect_err(sql).to_string();
            assert!(err.contains(why), "{sql}: {err}");
        }
    }
}
