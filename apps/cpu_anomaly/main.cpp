// cpu-anomaly: the IoT CPU anomaly tutorial (Flink + PostgreSQL + Slack) as one sluice app.
#include "app_main.hpp"
#include "cpu_anomaly.hpp"

#include <cstdlib>

namespace {

// True when libpq's environment names a server or database (so the thresholds stage can connect).
bool postgres_env_configured() {
  for (const char* name : {"PGHOST", "PGHOSTADDR", "PGDATABASE", "PGSERVICE"})
    if (const char* v = std::getenv(name); v != nullptr && *v != '\0')
      return true;
  return false;
}

} // namespace

int main(int argc, char** argv) {
  CLI::App cli{"cpu-anomaly: the IoT CPU anomaly tutorial. Reads readings {hostname, cpu, usage, occurred_at} from\n"
               "cpu_load_stats_real and\n"
               "  1. writes those with usage > 80 to cpu_load_stats_real_filter as {time_ltz, hostname, cpu, usage};\n"
               "  2. writes 30 s tumbling-window averages per host and CPU (event time occurred_at, 10 s grace, one\n"
               "     row per window when it closes) to cpu_agg_stats as {window_start, window_end, hostname, cpu,\n"
               "     usage_avg, usage_max};\n"
               "  3. looks each average's host up in the PostgreSQL table cpu_thresholds(hostname, allowed_top) and,\n"
               "     when usage_avg > allowed_top, writes the row to cpu_alerts and sends the Slack text\n"
               "     'host:<hostname> CPU: <cpu> avg CPU value:<usage_avg> over the threshold <allowed_top>'\n"
               "     (to the console when no Slack is configured).\n"
               "Stage 3 runs when PostgreSQL is configured (--postgres-url, or PGHOST/PGHOSTADDR/PGDATABASE/PGSERVICE\n"
               "in the environment) and --no-thresholds is not given; otherwise the app runs stages 1 and 2 only."};
  sluice::streams_config defaults;
  defaults.application_id = "cpu-anomaly";
  sluice::config_flags flags{cli, defaults};
  sluice::apps::cpu_anomaly_topics topics;
  sluice::apps::cpu_anomaly_options options;
  cli.add_option("--input-topic", topics.readings, "topic of the readings")->capture_default_str();
  cli.add_option("--output-topic", topics.filtered, "topic of the readings over 80 % usage")->capture_default_str();
  cli.add_option("--agg-topic", topics.aggregated, "topic of the per-window averages")->capture_default_str();
  cli.add_option("--alerts-topic", topics.alerts, "topic of the averages over their threshold")->capture_default_str();
  std::int64_t window_ms = options.window.count(), grace_ms = options.grace.count();
  cli.add_option("--window-ms", window_ms, "tumbling window size of the averages")
    ->capture_default_str()
    ->check(CLI::PositiveNumber);
  cli.add_option("--grace-ms", grace_ms, "how late (event time) a reading may be and still count in its window")
    ->capture_default_str()
    ->check(CLI::NonNegativeNumber);
  bool filter_only = false, no_thresholds = false;
  cli.add_flag("--filter-only", filter_only, "run only the usage > 80 filter (no windows, no PostgreSQL)");
  cli.add_flag("--no-thresholds", no_thresholds, "no threshold lookup and no alerts, even if PostgreSQL is configured");
  std::string postgres_url, thresholds_table = "cpu_thresholds";
  cli
    .add_option("--postgres-url", postgres_url,
                "libpq connection string or postgresql:// URI of the thresholds database; empty: libpq's PG* "
                "environment variables")
    ->envname("SLUICE_POSTGRES_URL");
  cli.add_option("--thresholds-table", thresholds_table, "table with columns hostname, allowed_top")
    ->capture_default_str();
  std::int64_t thresholds_cache_ttl_ms = sluice::postgres_lookup_options{}.cache_ttl.count();
  cli
    .add_option("--thresholds-cache-ttl-ms", thresholds_cache_ttl_ms,
                "how long a looked-up threshold is reused before PostgreSQL is asked again; 0: ask every time")
    ->capture_default_str()
    ->check(CLI::NonNegativeNumber);
  sluice::alert_target alerts;
  alerts.add_flags(cli);
  return sluice::apps::run_app(
    "cpu-anomaly", cli, flags,
    [&](const sluice::streams_config&, sluice::topology_builder& builder) {
      options.aggregate = !filter_only;
      options.window = std::chrono::milliseconds{window_ms};
      options.grace = std::chrono::milliseconds{grace_ms};
      std::string stages = filter_only ? "filter" : "filter, 30 s averages";
      if (!filter_only && !no_thresholds && (!postgres_url.empty() || postgres_env_configured())) {
        auto lookup = sluice::apps::cpu_thresholds_lookup(postgres_url, thresholds_table);
        lookup.cache_ttl = std::chrono::milliseconds{thresholds_cache_ttl_ms};
        sluice::postgres_lookup_source thresholds{lookup};
        alerts.validate();
        options.thresholds.emplace(thresholds, alerts);
        stages += ", thresholds with alerts to " + alerts.describe();
      } else if (!filter_only) {
        stages += no_thresholds
                    ? " (thresholds off: --no-thresholds)"
                    : " (thresholds off: no PostgreSQL configured; set --postgres-url or PGHOST/PGDATABASE)";
      }
      sluice::apps::build_cpu_anomaly(builder, topics, options);
      return "stages: " + stages;
    },
    argc, argv);
}
