using Microsoft.Extensions.Configuration;

namespace Orchestrator.Node;

/// <summary>
/// The node's configuration sources, later ones winning: appsettings.json in the current folder, ORCHESTRATOR_*
/// environment variables (ORCHESTRATOR_HTTP, ORCHESTRATOR_STORAGEROOTS__0, ...), then serve's flags.
/// </summary>
public static class NodeConfiguration
{
    public const string EnvironmentPrefix = "ORCHESTRATOR_";

    /// <param name="flags">Flag values by configuration key (Http, Data, StorageRoots:0, StorageRoots:1, ...).</param>
    /// <param name="folder">Where appsettings.json is looked for; the current folder by default.</param>
    public static IConfigurationRoot Build(IEnumerable<KeyValuePair<string, string?>> flags, string? folder = null)
    {
        var overrides = flags.ToList();
        var builder = new ConfigurationBuilder()
            .SetBasePath(folder ?? Directory.GetCurrentDirectory())
            .AddJsonFile("appsettings.json", optional: true, reloadOnChange: false)
            .AddEnvironmentVariables(EnvironmentPrefix);

        // Configuration merges arrays index by index; a list given by flags must replace the lower sources' list
        // whole, so their other entries are blanked (NodeOptions skips entries without a value).
        var lowerSources = builder.Build();
        foreach (var key in new[] { NodeOptions.StorageRootsKey, NodeOptions.SeedsKey })
        {
            var prefix = key + ConfigurationPath.KeyDelimiter;
            if (!overrides.Any(o => o.Key.StartsWith(prefix, StringComparison.OrdinalIgnoreCase)))
            {
                continue;
            }

            var section = lowerSources.GetSection(key);
            overrides.Add(new(key, null));
            overrides.AddRange(section.GetChildren()
                .Where(c => !overrides.Any(o => string.Equals(o.Key, c.Path, StringComparison.OrdinalIgnoreCase)))
                .Select(c => new KeyValuePair<string, string?>(c.Path, null)));
        }

        return builder.AddInMemoryCollection(overrides).Build();
    }
}
