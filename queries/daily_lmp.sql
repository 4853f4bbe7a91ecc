-- Daily peak and average LMP per pricing node (caiso_lmp_dam, total LMP only), with the hour it peaked.
SELECT
    date,
    node,
    max(price) AS peak_lmp,
    round(avg(price), 4) AS avg_lmp,
    min(price) AS min_lmp,
    first_value(opr_hr ORDER BY price DESC, interval_start) AS peak_hour_ending,
    count(*) AS hours
FROM caiso_lmp_dam
WHERE lmp_type = 'LMP'
GROUP BY date, node
ORDER BY date, node;
