-- The IoT CPU anomaly tutorial's alerting thresholds: a reading's 30-second average usage over its
-- host's allowed_top raises an alert. `psql "$POSTGRES_URL" -f apps/cpu_anomaly/thresholds.sql`
CREATE TABLE cpu_thresholds (
  hostname VARCHAR,
  allowed_top INT
);

INSERT INTO cpu_thresholds
VALUES ('doc', 20),
       ('grumpy', 30),
       ('sleepy', 40),
       ('bashful', 60),
       ('happy', 70),
       ('sneezy', 80),
       ('dopey', 90);
