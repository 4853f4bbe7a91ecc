#!/usr/bin/env bash
# Screenshot of `gridlake status --html` in headless Chromium: benches/results/status.png.
#
# The lake: `gridlake demo` (every built-in source through its recorded HTTP answers: 25 complete CAISO DAM
# days, one day of each other source, the Binance and REACH days incomplete), then the days the demo has no
# example of, made as tests/shell.rs makes them: 2018-11-07 missing (nothing imported), 2018-11-08 incomplete
# (12 of 24 hours and 2 rejected rows), 2018-11-09 failed (an input without the required columns) and
# 2018-11-10 no_data (a header-only answer). So the page shows every state.
#
# Usage: benches/status_screenshot.sh [GRIDLAKE_BINARY]   (default: $CARGO_TARGET_DIR or target, release)
# Needs chromium (Debian: apt-get install chromium). Not run in CI.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bin=${1:-${CARGO_TARGET_DIR:-$root/target}/release/gridlake}
chrome=$(command -v chromium || command -v chromium-browser || command -v google-chrome || true)
[ -x "$bin" ] || { echo "no gridlake binary at $bin (cargo build --release)" >&2; exit 1; }
[ -n "$chrome" ] || { echo "chromium not found (apt-get install chromium)" >&2; exit 1; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
lake=$work/lake
"$bin" demo --lake "$lake" >/dev/null

header="INTERVALSTARTTIME_GMT,INTERVALENDTIME_GMT,OPR_DT,OPR_HR,OPR_INTERVAL,NODE_ID_XML,NODE_ID,NODE,MARKET_RUN_ID,LMP_TYPE,XML_DATA_ITEM,PNODE_RESMRID,GRP_TYPE,POS,MW,GROUP"
row() { # hour-ending, LMP_TYPE, price: one row of node 0096WD_7_N001 on 2018-11-08 (PST: HE h starts at 07+h UTC)
  local s e
  s=$(date -u -d "2018-11-08 08:00 UTC + $(($1 - 1)) hour" +%Y-%m-%dT%H:%M:%S-00:00)
  e=$(date -u -d "2018-11-08 08:00 UTC + $1 hour" +%Y-%m-%dT%H:%M:%S-00:00)
  echo "$s,$e,2018-11-08,$1,0,0096WD_7_N001,0096WD_7_N001,0096WD_7_N001,DAM,$2,LMP_PRC,0096WD_7_N001,ALL,1,$3,1"
}
{
  echo "$header"
  for h in $(seq 1 12); do row "$h" LMP "$((30 + h))"; done
  row 14 XYZ 1          # LMP_TYPE not allowed: rejected
  row 14 LMP 99999      # above the schema's price bound: rejected
} >"$work/20181108_partial.csv"
printf 'INTERVALSTARTTIME_GMT,OPR_DT,NODE\n2018-11-09T08:00:00-00:00,2018-11-09,X\n' >"$work/broken.csv"
echo "$header" >"$work/empty.csv"
"$bin" import caiso_lmp_dam "$work/20181108_partial.csv" --lake "$lake" >/dev/null || true
"$bin" import caiso_lmp_dam "$work/broken.csv" --day 2018-11-09 --lake "$lake" >/dev/null 2>&1 || true
"$bin" import caiso_lmp_dam "$work/empty.csv" --day 2018-11-10 --lake "$lake" >/dev/null

# The page names the lake it shows; a fixed name keeps the screenshot free of the temporary path.
ln -s "$lake" "$work/gridlake-lake"
(cd "$work" && "$bin" status --lake gridlake-lake --html "$work/status.html")
mkdir -p "$root/benches/results"
"$chrome" --headless --no-sandbox --disable-gpu --hide-scrollbars --window-size=1400,900 \
  --screenshot="$root/benches/results/status.png" "file://$work/status.html" 2>/dev/null
echo "wrote benches/results/status.png"
