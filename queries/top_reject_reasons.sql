-- The most frequent reasons rows were rejected at import, per dataset and column, with an example line.
SELECT
    dataset,
    "column",
    reason,
    count(*) AS rejects,
    count(DISTINCT input) AS inputs,
    min(input || ':' || CAST(line AS VARCHAR)) AS example
FROM rejects
GROUP BY dataset, "column", reason
ORDER BY rejects DESC, dataset, "column", reason
LIMIT 20;
