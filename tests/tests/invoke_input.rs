//! `wsman invoke --input FILE` against the test host: each line is one
//! input object, in order, whatever the file's size (the file is streamed
//! in batches of Sends, not read whole first), from a file or from stdin.
use integration_tests::{Cli, TestHost};

#[test]
fn input_lines_from_a_file_and_from_stdin_arrive_in_order() {
    let Some(host) = TestHost::start(&["--auth", "basic", "--allow-unencrypted"]) else {
        return;
    };
    let path = std::env::temp_dir().join(format!("wsman-input-{}.txt", std::process::id()));
    // 30,000 lines (about 1 MB): several batches of Sends.
    let mut text = String::from("first\r\nwith spaces é\n\n");
    for i in 0..30_000 {
        text.push_str(&format!("line {i:05} {}\n", "x".repeat(20)));
    }
    text.push_str("last without newline");
    std::fs::write(&path, &text).unwrap();
    let cli = Cli::for_host(&host);
    let out = cli.run(&["invoke", "--input", path.to_str().unwrap(), "$input"]);
    let _ = std::fs::remove_file(&path);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let got = String::from_utf8(out.stdout).unwrap();
    let want: Vec<&str> = text.lines().collect();
    let lines: Vec<&str> = got.lines().collect();
    assert_eq!(lines.len(), want.len());
    assert_eq!(lines, want);

    let out = cli.run_stdin(&["invoke", "--input", "-", "$input"], b"one\ntwo\r\n");
    assert!(out.status.success());
    assert_eq!(
        String::from_utf8(out.stdout)
            .unwrap()
            .lines()
            .collect::<Vec<_>>(),
        ["one", "two"]
    );
}
