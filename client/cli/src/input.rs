//! `--input FILE` (`-` = stdin): one pipeline input object per line
//! ([MS-PSRP] 3.1.4.5), streamed: lines are read as they are sent, a few
//! hundred KB at a time, so memory stays flat whatever the file's size.
//! Only stdin given to several hosts at once is read whole first (it can
//! be read only once).
//!
//! [MS-PSRP]: https://learn.microsoft.com/en-us/openspecs/windows_protocols/ms-psrp/
use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use psrp::clixml::Value;

use crate::session::Pipeline;
use crate::{Error, Result};

/// Bytes of input queued before they are sent.
const BATCH: usize = 256 << 10;

/// Where pipeline input comes from.
#[derive(Debug, Clone)]
pub(super) enum Input {
    /// A file, opened (again) for each pipeline.
    File(PathBuf),
    /// Standard input, read as it is sent.
    Stdin,
    /// Lines read before (stdin for several hosts).
    Lines(Arc<Vec<String>>),
}

fn input_error(path: &Path, e: std::io::Error) -> Error {
    Error::Usage(format!("cannot read input {}: {e}", path.display()))
}

impl Input {
    /// The input of `--input PATH` for `hosts` hosts; a file that cannot
    /// be opened is an error now, before any host is contacted.
    pub(super) fn new(path: &Path, hosts: usize) -> Result<Input> {
        if path == Path::new("-") {
            if hosts <= 1 {
                return Ok(Input::Stdin);
            }
            let lines: std::io::Result<Vec<String>> = std::io::stdin().lock().lines().collect();
            return Ok(Input::Lines(Arc::new(
                lines.map_err(|e| input_error(path, e))?,
            )));
        }
        std::fs::File::open(path).map_err(|e| input_error(path, e))?;
        Ok(Input::File(path.to_path_buf()))
    }

    /// Sends every line as one input object, then ends the input.
    pub(super) async fn send(&self, pipeline: &mut Pipeline<'_>) -> Result<()> {
        match self {
            Input::Lines(lines) => {
                let mut queued = 0;
                for line in lines.iter() {
                    queued += line.len();
                    pipeline.queue_input(Value::String(line.clone()))?;
                    if queued >= BATCH {
                        pipeline.send_queued_input().await?;
                        queued = 0;
                    }
                }
            }
            Input::Stdin => send_lines(pipeline, Lines::Stdin, Path::new("-")).await?,
            Input::File(path) => {
                let file = std::fs::File::open(path).map_err(|e| input_error(path, e))?;
                send_lines(pipeline, Lines::File(std::io::BufReader::new(file)), path).await?;
            }
        }
        pipeline.close_input().await
    }
}

/// Where lines are read from (both `Send`, unlike a locked stdin).
enum Lines {
    File(std::io::BufReader<std::fs::File>),
    Stdin,
}

impl Lines {
    fn read_line(&mut self, line: &mut String) -> std::io::Result<usize> {
        match self {
            Lines::File(r) => r.read_line(line),
            Lines::Stdin => std::io::stdin().read_line(line),
        }
    }
}

/// Reads lines (without their `\n` or `\r\n`) and sends them in batches.
async fn send_lines(pipeline: &mut Pipeline<'_>, mut r: Lines, path: &Path) -> Result<()> {
    let mut queued = 0;
    loop {
        let mut line = String::new();
        if r.read_line(&mut line).map_err(|e| input_error(path, e))? == 0 {
            break;
        }
        if line.ends_with('\n') {
            line.pop();
            if line.ends_with('\r') {
                line.pop();
            }
        }
        queued += line.len() + 64;
        pipeline.queue_input(Value::String(line))?;
        if queued >= BATCH {
            pipeline.send_queued_input().await?;
            queued = 0;
        }
    }
    Ok(())
}
