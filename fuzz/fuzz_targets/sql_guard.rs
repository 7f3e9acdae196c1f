//! The SQL the model writes: the hand-written lexer/classifier (in every `sql_mode`), literal
//! masking, the sqlparser SELECT guard, and the grant-line reader.
//! Invariant: a statement both guards accept has no `;` outside literals.
#![no_main]

use kubestack_ai::plugins::mysql::grants::writing_privileges;
use kubestack_ai::plugins::mysql::select_guard::check_model_select;
use kubestack_ai::plugins::mysql::sql_text::{
    SqlMode, Token, check_read_only, check_read_only_in, mask_literals, tokens, tokens_in,
};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(sql) = std::str::from_utf8(data) else {
        return;
    };
    let toks = tokens(sql);
    let _ = mask_literals(sql);
    let classified = check_read_only(sql);
    let selected = check_model_select(sql);
    if classified.is_ok() && selected.is_ok() {
        let toks = toks.expect("the classifier accepted a statement its lexer rejects");
        assert!(
            !toks.iter().any(|t| *t == Token::Punct(';')),
            "both guards accepted a statement with a `;` outside literals: {sql:?}"
        );
    }
    for mode in [
        "ANSI_QUOTES",
        "NO_BACKSLASH_ESCAPES",
        "ANSI_QUOTES,NO_BACKSLASH_ESCAPES",
        sql,
    ] {
        let mode = SqlMode::parse(mode);
        let _ = tokens_in(sql, mode);
        let _ = check_read_only_in(sql, mode);
    }
    let lines: Vec<String> = sql.lines().map(str::to_string).collect();
    let _ = writing_privileges(&lines);
});
