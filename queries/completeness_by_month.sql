-- Completeness per dataset and month, from `ledger`: days in each state and rows written against expected.
SELECT
    dataset,
    to_char(day, '%Y-%m') AS month,
    count(*) AS days,
    count(*) FILTER (WHERE state = 'complete') AS complete,
    count(*) FILTER (WHERE state = 'incomplete') AS incomplete,
    count(*) FILTER (WHERE state = 'no_data') AS no_data,
    count(*) FILTER (WHERE state = 'failed') AS failed,
    count(*) FILTER (WHERE state = 'missing') AS missing,
    sum(written_rows) AS written_rows,
    sum(expected_rows) AS expected_rows,
    round(100.0 * sum(written_rows) FILTER (WHERE expected_rows IS NOT NULL)
          / nullif(sum(expected_rows), 0), 2) AS availability_pct
FROM ledger
GROUP BY dataset, to_char(day, '%Y-%m')
ORDER BY dataset, month;
