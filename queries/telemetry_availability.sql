-- REACH telemetry availability per day, spacecraft and sensor: samples delivered against one every 5 s
-- per flavour (17,280 a day each), and how many carry a valid dose (fill values read as null).
SELECT
    date,
    observatory_name AS spacecraft,
    id_sensor AS sensor,
    count(DISTINCT flavour) AS flavours,
    count(*) AS samples,
    count(dose) AS valid_samples,
    round(100.0 * count(*) / (17280 * count(DISTINCT flavour)), 4) AS availability_pct
FROM reach_dosimeter
GROUP BY date, observatory_name, id_sensor
ORDER BY date, spacecraft, sensor;
