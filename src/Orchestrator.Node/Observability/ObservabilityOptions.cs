using Microsoft.Extensions.Configuration;

namespace Orchestrator.Node.Observability;

/// <summary>How the node logs and who may scrape its metrics (configuration keys <see cref="LogFormatKey"/>, <see cref="MetricsNeedTokenKey"/>).</summary>
public sealed record ObservabilityOptions
{
    public const string LogFormatKey = "LogFormat";
    public const string MetricsNeedTokenKey = "MetricsNeedToken";

    public static ObservabilityOptions Default { get; } = new();

    /// <summary>One JSON object per log line (for journald or a log shipper) instead of plain single lines.</summary>
    public bool JsonLogs { get; init; }

    /// <summary>Whether GET /metrics needs the bearer token (the default); a scraper on a trusted network may go without.</summary>
    public bool MetricsNeedToken { get; init; } = true;

    public static ObservabilityOptions FromConfiguration(IConfiguration configuration)
    {
        var format = configuration[LogFormatKey];
        var json = format switch
        {
            null or "" or "text" => false,
            "json" => true,
            _ => throw new NodeConfigurationException(LogFormatKey, $"invalid --log-format ({LogFormatKey}): '{format}' is not text or json"),
        };

        var needText = configuration[MetricsNeedTokenKey];
        var need = true;
        if (!string.IsNullOrWhiteSpace(needText) && !bool.TryParse(needText, out need))
        {
            throw new NodeConfigurationException(MetricsNeedTokenKey, $"invalid --metrics-need-token ({MetricsNeedTokenKey}): '{needText}' is not true or false");
        }

        return new ObservabilityOptions { JsonLogs = json, MetricsNeedToken = need };
    }
}
