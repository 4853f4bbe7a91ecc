"""Drives `gridlake sql` through a pseudo-terminal, as a person would (tests/shell.rs runs it).

argv: gridlake binary, lake, history dir, phase ("first", "second" or "commands"). Prints everything the REPL
wrote; in the "commands" phase each step's output follows a `=== STEP name ===` line instead, so the test can
check each command against what it alone printed. Only the standard library: pty + select, no pexpect.
"""
import fcntl
import os
import pty
import select
import struct
import subprocess
import sys
import termios
import time

binary, lake, history, phase = sys.argv[1:5]
master, slave = pty.openpty()
# A wide terminal, so tables are not wrapped.
fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 50, 250, 0, 0))
env = dict(os.environ, GRIDLAKE_HISTORY_DIR=history, TERM="xterm")
proc = subprocess.Popen(
    [binary, "sql", "--lake", lake],
    stdin=slave, stdout=slave, stderr=slave, env=env, close_fds=True, start_new_session=True,
)
os.close(slave)
out = b""


def wait_for(marker, timeout=60, since=None):
    """Reads until `marker` appears in what came after the last call (or after offset `since`), answering
    cursor-position queries. Returns the offset just past the marker."""
    global out
    start = len(out) if since is None else since
    deadline = time.time() + timeout
    while marker.encode() not in out[start:]:
        if time.time() > deadline:
            sys.stdout.write(out.decode(errors="replace"))
            sys.exit(f"timed out waiting for {marker!r}")
        ready, _, _ = select.select([master], [], [], 0.1)
        if not ready:
            continue
        try:
            chunk = os.read(master, 65536)
        except OSError:
            break
        if not chunk:
            break
        out += chunk
        if b"\x1b[6n" in chunk:
            os.write(master, b"\x1b[1;1R")
    at = out.find(marker.encode(), start)
    if at < 0:
        sys.stdout.write(out.decode(errors="replace"))
        sys.exit(f"the REPL ended before {marker!r}")
    return at + len(marker)


def send(keys):
    os.write(master, keys.encode())


steps = []


def step(name, line, marker):
    """Types `line` and waits for `marker` in its output, then types a sentinel statement whose result
    (upper-cased, so the echo of the typed line cannot match it) ends the step's output in any format; keeps
    what the REPL printed in between. Each line is typed only once the REPL shows its prompt again after the
    previous output: rustyline discards what was typed ahead while it switches the terminal mode."""
    start = len(out)
    send(line + "\r")
    wait_for("gridlake> ", since=wait_for(marker, since=start))
    sentinel = f"STEP{len(steps)}DONE"
    send(f"SELECT upper('{sentinel.lower()}') AS sentinel;\r")
    end = wait_for(sentinel)
    wait_for("gridlake> ", since=end)
    steps.append((name, out[start:end].decode(errors="replace")))


wait_for("for help")
if phase == "first":
    # A statement over two lines: the first line has no `;`, so the REPL waits for more.
    send("SELECT day, state\r")
    time.sleep(0.2)
    send("FROM gaps('caiso_lmp_dam', '2018-11-06', '2018-11-10');\r")
    wait_for("rows in")
    send("\\d\r")
    wait_for("ledger_log")
    send("\\gaps caiso_lmp_dam 2018-11-06 2018-11-10\r")
    wait_for("rows in")
    # Tab completes the table name.
    send("\\d reach_dos\t")
    time.sleep(0.3)
    send("\r")
    wait_for("id_sensor")
elif phase == "commands":
    script = os.path.join(history, "two_statements.sql")
    with open(script, "w") as f:
        f.write("SELECT count(*) AS reach_rows FROM reach_dosimeter;\n-- a comment; not a statement\n"
                "SELECT 'from ' || 'the file' AS origin;\n")
    step("datasets", "\\datasets", marker="reach_dosimeter")
    step("queries", "\\queries", marker="top_reject_reasons")
    step("run", "\\run daily_ohlc", marker="1 row in")
    step("include", f"\\i {script}", marker="the file")
    step("timing_off", "\\timing", marker="timing off")
    step("untimed_query", "SELECT 6 * 7 AS answer;", marker="| 42")
    step("format_csv", "\\format csv", marker="format: csv")
    step("csv_query", "SELECT day, state FROM gaps('caiso_lmp_dam', '2018-11-06', '2018-11-10');",
         marker="2018-11-09,failed")
    step("format_table", "\\format table", marker="format: table")
    step("timing_on", "\\timing", marker="timing on")
    step("timed_query", "SELECT 6 * 7 AS answer;", marker="1 row in")
else:
    # History of the first start: Up ×3 is its `\gaps` line (then `\d reach_dosimeter`, then `\q`).
    send("\x1b[A")
    time.sleep(0.1)
    send("\x1b[A")
    time.sleep(0.1)
    send("\x1b[A")
    time.sleep(0.2)
    send("\r")
    wait_for("rows in")
send("\\q\r")
try:
    code = proc.wait(timeout=30)
except subprocess.TimeoutExpired:
    proc.kill()
    sys.stdout.write(out.decode(errors="replace"))
    sys.exit("the REPL did not quit on \\q")
try:
    while True:
        ready, _, _ = select.select([master], [], [], 0.1)
        if not ready:
            break
        chunk = os.read(master, 65536)
        if not chunk:
            break
        out += chunk
except OSError:
    pass
if steps:
    for name, text in steps:
        sys.stdout.write(f"=== STEP {name} ===\n{text}\n")
else:
    sys.stdout.write(out.decode(errors="replace"))
if code != 0:
    sys.exit(f"exit code {code}")
