using System.Globalization;
using Microsoft.Extensions.Configuration;
using Orchestrator.Qcow2.IO;

namespace Orchestrator.Node;

/// <summary>
/// The node's settings. Built from configuration (appsettings.json, ORCHESTRATOR_* environment variables, then
/// serve's flags) by <see cref="FromConfiguration"/>; every value is checked at construction and a bad one throws
/// <see cref="NodeConfigurationException"/> naming the flag and the key.
/// </summary>
public sealed class NodeOptions
{
    /// <summary>Configuration keys (root level; environment: ORCHESTRATOR_DATA, ORCHESTRATOR_HTTP, ...).</summary>
    public const string DataKey = "Data";
    public const string HttpKey = "Http";
    public const string StorageRootsKey = "StorageRoots";
    public const string CacheKey = "Cache";
    public const string RequestTimeoutKey = "RequestTimeout";

    public static readonly TimeSpan DefaultRequestTimeout = TimeSpan.FromSeconds(30);

    public NodeOptions(string dataDirectory, HttpEndpoint http, IReadOnlyList<string> storageRoots, CacheMode cache = CacheMode.PageCache, TimeSpan? requestTimeout = null)
    {
        if (string.IsNullOrWhiteSpace(dataDirectory))
        {
            throw Invalid(DataKey, "--data", "the data folder must not be empty");
        }

        if (storageRoots.Count == 0)
        {
            throw Invalid(StorageRootsKey, "--storage-root", "at least one storage root is needed");
        }

        var roots = new List<string>();
        foreach (var root in storageRoots)
        {
            if (string.IsNullOrWhiteSpace(root))
            {
                throw Invalid(StorageRootsKey, "--storage-root", "a storage root must not be empty");
            }

            var full = Path.TrimEndingDirectorySeparator(Path.GetFullPath(root));
            if (!Directory.Exists(full))
            {
                throw Invalid(StorageRootsKey, "--storage-root", $"the storage root '{root}' is not an existing folder");
            }

            roots.Add(full.Length == 0 ? Path.DirectorySeparatorChar.ToString() : full);
        }

        var timeout = requestTimeout ?? DefaultRequestTimeout;
        if (timeout <= TimeSpan.Zero || timeout > TimeSpan.FromHours(1))
        {
            throw Invalid(RequestTimeoutKey, "--request-timeout", $"the request timeout must be between 1 s and 1 h, not {timeout}");
        }

        DataDirectory = Path.GetFullPath(dataDirectory);
        Http = http;
        StorageRoots = roots.Distinct(StringComparer.Ordinal).ToList();
        Cache = cache;
        RequestTimeout = timeout;
    }

    /// <summary>Holds journal.db, token and endpoint.</summary>
    public string DataDirectory { get; }

    public HttpEndpoint Http { get; }

    /// <summary>Full paths of the folders the API may touch images in.</summary>
    public IReadOnlyList<string> StorageRoots { get; }

    /// <summary>How the engine opens images (none = O_DIRECT, writeback = page cache).</summary>
    public CacheMode Cache { get; }

    /// <summary>How long an API request waits for the engine's answer.</summary>
    public TimeSpan RequestTimeout { get; }

    public string JournalPath => Path.Combine(DataDirectory, NodePaths.JournalFile);

    public string TokenPath => Path.Combine(DataDirectory, NodePaths.TokenFile);

    public string EndpointPath => Path.Combine(DataDirectory, NodePaths.EndpointFile);

    /// <summary>Reads and validates the settings; defaults: the XDG data folder, 127.0.0.1:8080, the current folder as the one storage root.</summary>
    public static NodeOptions FromConfiguration(IConfiguration configuration)
    {
        var data = configuration[DataKey];
        var httpText = configuration[HttpKey];
        var http = HttpEndpoint.Default;
        if (!string.IsNullOrWhiteSpace(httpText) && !HttpEndpoint.TryParse(httpText, out http))
        {
            throw Invalid(HttpKey, "--http", $"'{httpText}' is not HOST:PORT (for example 127.0.0.1:8080)");
        }

        var roots = ReadList(configuration.GetSection(StorageRootsKey));
        if (roots.Count == 0)
        {
            roots = [Directory.GetCurrentDirectory()];
        }

        var cacheText = configuration[CacheKey];
        var cache = cacheText switch
        {
            null or "" or "writeback" => CacheMode.PageCache,
            "none" => CacheMode.Direct,
            _ => throw Invalid(CacheKey, "--cache", $"'{cacheText}' is not a cache mode (none or writeback)"),
        };

        var timeoutText = configuration[RequestTimeoutKey];
        TimeSpan? timeout = null;
        if (!string.IsNullOrWhiteSpace(timeoutText))
        {
            timeout = ParseDuration(timeoutText)
                ?? throw Invalid(RequestTimeoutKey, "--request-timeout", $"'{timeoutText}' is not a duration (seconds, or hh:mm:ss)");
        }

        return new NodeOptions(string.IsNullOrWhiteSpace(data) ? NodePaths.DefaultDataDirectory : data, http!, roots, cache, timeout);
    }

    /// <summary>A list key accepts an array (StorageRoots:0, StorageRoots:1 / ORCHESTRATOR_STORAGEROOTS__0) or one ':'-separated string.</summary>
    private static List<string> ReadList(IConfigurationSection section)
    {
        var children = section.GetChildren().Where(c => c.Value is not null).Select(c => c.Value!).ToList();
        if (children.Count > 0)
        {
            return children;
        }

        return section.Value is { Length: > 0 } text
            ? [.. text.Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)]
            : [];
    }

    private static TimeSpan? ParseDuration(string text)
    {
        var trimmed = text.Trim().TrimEnd('s');
        if (double.TryParse(trimmed, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var seconds))
        {
            return TimeSpan.FromSeconds(seconds);
        }

        return TimeSpan.TryParse(text, CultureInfo.InvariantCulture, out var span) ? span : null;
    }

    private static NodeConfigurationException Invalid(string key, string flag, string message) =>
        new(key, $"invalid {flag} ({key}): {message}");
}
