-- Daily open/high/low/close and volume per symbol, rolled up from 1-minute klines (binance_klines).
SELECT
    date,
    symbol,
    first_value(open ORDER BY open_time) AS open,
    max(high) AS high,
    min(low) AS low,
    last_value(close ORDER BY open_time) AS close,
    round(sum(volume), 4) AS volume,
    sum(number_of_trades) AS trades,
    count(*) AS minutes
FROM binance_klines
GROUP BY date, symbol
ORDER BY date, symbol;
