using System.Globalization;
using Microsoft.Extensions.Configuration;
using Orchestrator.Engine;
using Orchestrator.Engine.Cluster;
using Orchestrator.Engine.Persistence;
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
    public const string BatchSizeKey = "BatchSize";
    public const string CheckpointSizeKey = "CheckpointSize";
    public const string SnapshotIntervalKey = "SnapshotInterval";
    public const string GuestYieldSizeKey = "GuestYieldSize";
    public const string NbdKey = "Nbd";
    public const string NbdAllowRemoteKey = "NbdAllowRemote";
    public const string NbdReadOnlyKey = "NbdReadOnly";
    public const string NbdHandshakeTimeoutKey = "NbdHandshakeTimeout";
    public const string JournalKey = "Journal";
    public const string JournalProviderKey = "Journal:Provider";
    public const string JournalConnectionStringKey = "Journal:ConnectionString";
    public const string NodeNameKey = "NodeName";
    public const string ClusterHostKey = "ClusterHost";
    public const string ClusterPortKey = "ClusterPort";
    public const string SeedsKey = "Seeds";
    public const string StableAfterKey = "StableAfter";
    public const string HeartbeatPauseKey = "HeartbeatPause";
    public const string JoinTimeoutKey = "JoinTimeout";
    public const string ImageLockingKey = "ImageLocking";
    public const string SharedRootsKey = "SharedRoots";

    public static readonly TimeSpan DefaultNbdHandshakeTimeout = TimeSpan.FromSeconds(10);

    /// <summary>The engine's limits for <see cref="EngineSettings.BatchBytes"/> and <see cref="EngineSettings.CheckpointBytes"/>.</summary>
    public const int MinBatchBytes = 64 * 1024;
    public const int MaxBatchBytes = 256 * 1024 * 1024;
    public const long MinCheckpointBytes = 64 * 1024;

    /// <summary>The engine's limits for <see cref="EngineSettings.GuestYieldBytes"/>.</summary>
    public const int MinGuestYieldBytes = 4 * 1024;
    public const int MaxGuestYieldBytes = 64 * 1024 * 1024;

    /// <summary>The engine's limits for <see cref="EngineSettings.SnapshotInterval"/>.</summary>
    public const int MinSnapshotInterval = 1;
    public const int MaxSnapshotInterval = 1_000_000;

    public static readonly TimeSpan DefaultRequestTimeout = TimeSpan.FromSeconds(30);

    /// <summary>The engine's defaults (1 MiB and 256 MiB today), kept when the options are not given.</summary>
    public static readonly int DefaultBatchBytes = new EngineSettings().BatchBytes;

    public static readonly long DefaultCheckpointBytes = new EngineSettings().CheckpointBytes;

    public static readonly int DefaultSnapshotInterval = new EngineSettings().SnapshotInterval;

    public static readonly int DefaultGuestYieldBytes = new EngineSettings().GuestYieldBytes;

    public NodeOptions(string dataDirectory, HttpEndpoint http, IReadOnlyList<string> storageRoots, CacheMode cache = CacheMode.PageCache, TimeSpan? requestTimeout = null,
        long? batchBytes = null, long? checkpointBytes = null, long? snapshotInterval = null, HttpEndpoint? nbdTcp = null,
        bool nbdAllowRemote = false, long? guestYieldBytes = null, JournalSettings? journal = null, ClusterSettings? cluster = null)
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

        var batch = batchBytes ?? DefaultBatchBytes;
        if (batch is < MinBatchBytes or > MaxBatchBytes)
        {
            throw Invalid(BatchSizeKey, "--batch-size", $"the batch size must be between 64K and 256M, not {batch} bytes");
        }

        var checkpoint = checkpointBytes ?? DefaultCheckpointBytes;
        if (checkpoint < MinCheckpointBytes)
        {
            throw Invalid(CheckpointSizeKey, "--checkpoint-size", $"the checkpoint size must be at least 64K, not {checkpoint} bytes");
        }

        var interval = snapshotInterval ?? DefaultSnapshotInterval;
        if (interval is < MinSnapshotInterval or > MaxSnapshotInterval)
        {
            throw Invalid(SnapshotIntervalKey, "--snapshot-interval", $"the snapshot interval must be between 1 and 1000000 events, not {interval}");
        }

        var guestYield = guestYieldBytes ?? DefaultGuestYieldBytes;
        if (guestYield is < MinGuestYieldBytes or > MaxGuestYieldBytes)
        {
            throw Invalid(GuestYieldSizeKey, "--guest-yield-size", $"the guest yield size must be between 4K and 64M, not {guestYield} bytes");
        }

        if (nbdTcp is { IsLoopback: false } && !nbdAllowRemote)
        {
            // NBD has no authentication: anyone who reaches the port reads and writes every disk. Serving it beyond
            // this machine must be a decision, not a typo.
            throw Invalid(NbdKey, "--nbd", $"{nbdTcp} is not a loopback address, and NBD has no authentication: anyone who can reach it "
                + $"can read and write every disk. Use 127.0.0.1 or ::1, or pass --nbd-allow-remote ({NbdAllowRemoteKey}=true) on a network you control");
        }

        var socketPath = Path.Combine(Path.GetFullPath(dataDirectory), NodePaths.NbdSocketFile);
        if (System.Text.Encoding.UTF8.GetByteCount(socketPath) > MaxUnixSocketPathBytes)
        {
            throw Invalid(DataKey, "--data", $"the NBD socket path '{socketPath}' is longer than a Unix socket allows ({MaxUnixSocketPathBytes} bytes); choose a shorter data folder");
        }

        DataDirectory = Path.GetFullPath(dataDirectory);
        Http = http;
        StorageRoots = roots.Distinct(StringComparer.Ordinal).ToList();
        Cache = cache;
        RequestTimeout = timeout;
        BatchBytes = (int)batch;
        CheckpointBytes = checkpoint;
        SnapshotInterval = (int)interval;
        GuestYieldBytes = (int)guestYield;
        NbdTcp = nbdTcp;
        NbdAllowRemote = nbdAllowRemote;
        Journal = journal ?? JournalSettings.Sqlite(JournalPath);
        Cluster = cluster ?? new ClusterSettings();
        foreach (var shared in Cluster.SharedRoots)
        {
            // A shared root is a storage root (or inside one): the disks that move here must pass the same confinement.
            if (!StorageRoots.Any(root => PhysicalPath.IsUnder(shared, root)))
            {
                throw Invalid(SharedRootsKey, "ORCHESTRATOR_SHAREDROOTS", $"the shared root '{shared}' is not inside a storage root ({string.Join(", ", StorageRoots)})");
            }
        }
    }

    /// <summary>sockaddr_un's sun_path holds 108 bytes on Linux, the terminating NUL included.</summary>
    public const int MaxUnixSocketPathBytes = 107;

    /// <summary>Holds journal.db, token and endpoint.</summary>
    public string DataDirectory { get; }

    public HttpEndpoint Http { get; }

    /// <summary>Full paths of the folders the API may touch images in.</summary>
    public IReadOnlyList<string> StorageRoots { get; }

    /// <summary>How the engine opens images (none = O_DIRECT, writeback = page cache).</summary>
    public CacheMode Cache { get; }

    /// <summary>How long an API request waits for the engine's answer.</summary>
    public TimeSpan RequestTimeout { get; }

    /// <summary>Bytes a stream copies per step while holding the disk's I/O lock (<see cref="EngineSettings.BatchBytes"/>).</summary>
    public int BatchBytes { get; }

    /// <summary>Bytes a stream copies between persisted checkpoints (<see cref="EngineSettings.CheckpointBytes"/>).</summary>
    public long CheckpointBytes { get; }

    /// <summary>Persisted events between snapshots of each actor's state (<see cref="EngineSettings.SnapshotInterval"/>).</summary>
    public int SnapshotInterval { get; }

    /// <summary>The largest copy request while the guest waits on the copy (<see cref="EngineSettings.GuestYieldBytes"/>).</summary>
    public int GuestYieldBytes { get; }

    /// <summary>Where the NBD exports are also served over TCP; null (the default) for the Unix socket only.</summary>
    public HttpEndpoint? NbdTcp { get; }

    /// <summary>True when the operator allowed <see cref="NbdTcp"/> to be a non-loopback address.</summary>
    public bool NbdAllowRemote { get; }

    /// <summary>Log format and metrics access (configuration keys LogFormat, MetricsNeedToken).</summary>
    public Observability.ObservabilityOptions Observability { get; init; } = Node.Observability.ObservabilityOptions.Default;

    /// <summary>True when every NBD export is read-only (--nbd-read-only): writes, trims and zeroes get EPERM.</summary>
    public bool NbdReadOnly { get; init; }

    /// <summary>An NBD client still in the handshake after this long is disconnected (--nbd-handshake-timeout).</summary>
    public TimeSpan NbdHandshakeTimeout
    {
        get;
        init => field = value > TimeSpan.Zero && value <= TimeSpan.FromHours(1)
            ? value
            : throw Invalid(NbdHandshakeTimeoutKey, "--nbd-handshake-timeout", $"the NBD handshake timeout must be more than 0 and at most an hour, not {value}");
    } = DefaultNbdHandshakeTimeout;

    /// <summary>Whether open images hold QEMU's image locks (<see cref="EngineSettings.ImageLocking"/>); on unless turned off (--image-locking off).</summary>
    public bool ImageLocking { get; init; } = true;

    /// <summary>The journal and snapshot store: SQLite in the data folder (the default) or a PostgreSQL database.</summary>
    public JournalSettings Journal { get; }

    /// <summary>The node's cluster membership: its name (role), remoting address and seeds.</summary>
    public ClusterSettings Cluster { get; }

    /// <summary>The NBD Unix socket in the data folder (always served, mode 0600).</summary>
    public string NbdSocketPath => Path.Combine(DataDirectory, NodePaths.NbdSocketFile);

    /// <summary>The engine's settings that come from these options.</summary>
    public EngineSettings ToEngineSettings() => new()
    {
        StorageRoots = StorageRoots,
        Cache = Cache,
        BatchBytes = BatchBytes,
        CheckpointBytes = CheckpointBytes,
        SnapshotInterval = SnapshotInterval,
        GuestYieldBytes = GuestYieldBytes,
        ImageLocking = ImageLocking,
    };

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

        var batch = ReadSize(configuration, BatchSizeKey, "--batch-size");
        var checkpoint = ReadSize(configuration, CheckpointSizeKey, "--checkpoint-size");
        var snapshotInterval = ReadCount(configuration, SnapshotIntervalKey, "--snapshot-interval");
        var guestYield = ReadSize(configuration, GuestYieldSizeKey, "--guest-yield-size");

        var nbdText = configuration[NbdKey];
        HttpEndpoint? nbd = null;
        if (!string.IsNullOrWhiteSpace(nbdText) && (nbdText.Contains("://", StringComparison.Ordinal) || !HttpEndpoint.TryParse(nbdText, out nbd)))
        {
            throw Invalid(NbdKey, "--nbd", $"'{nbdText}' is not HOST:PORT (for example 127.0.0.1:10809)");
        }

        var allowText = configuration[NbdAllowRemoteKey];
        var allowRemote = false;
        if (!string.IsNullOrWhiteSpace(allowText) && !bool.TryParse(allowText, out allowRemote))
        {
            throw Invalid(NbdAllowRemoteKey, "--nbd-allow-remote", $"'{allowText}' is not true or false");
        }

        var journal = ReadJournal(configuration);
        var cluster = ReadCluster(configuration);
        var readOnlyText = configuration[NbdReadOnlyKey];
        var readOnly = false;
        if (!string.IsNullOrWhiteSpace(readOnlyText) && !bool.TryParse(readOnlyText, out readOnly))
        {
            throw Invalid(NbdReadOnlyKey, "--nbd-read-only", $"'{readOnlyText}' is not true or false");
        }

        var handshakeText = configuration[NbdHandshakeTimeoutKey];
        var handshake = DefaultNbdHandshakeTimeout;
        if (!string.IsNullOrWhiteSpace(handshakeText))
        {
            handshake = ParseDuration(handshakeText)
                ?? throw Invalid(NbdHandshakeTimeoutKey, "--nbd-handshake-timeout", $"'{handshakeText}' is not a duration (seconds, or hh:mm:ss)");
        }

        var lockingText = configuration[ImageLockingKey];
        var locking = lockingText?.Trim().ToLowerInvariant() switch
        {
            null or "" or "on" or "true" => true,
            "off" or "false" => false,
            _ => throw Invalid(ImageLockingKey, "--image-locking", $"'{lockingText}' is not on or off"),
        };

        return new NodeOptions(string.IsNullOrWhiteSpace(data) ? NodePaths.DefaultDataDirectory : data, http!, roots, cache, timeout, batch, checkpoint,
            snapshotInterval, nbd, allowRemote, guestYield, journal, cluster)
        {
            ImageLocking = locking,
            Observability = Node.Observability.ObservabilityOptions.FromConfiguration(configuration),
            NbdReadOnly = readOnly,
            NbdHandshakeTimeout = handshake,
        };
    }

    /// <summary>
    /// Journal=postgres:CONNECTION-STRING or sqlite:PATH (the --journal flag), or Journal:Provider (sqlite|postgres) with
    /// Journal:ConnectionString; null (SQLite in the data folder) when none is given.
    /// </summary>
    private static JournalSettings? ReadJournal(IConfiguration configuration)
    {
        var text = configuration[JournalKey];
        var provider = configuration[JournalProviderKey];
        var connection = configuration[JournalConnectionStringKey];
        try
        {
            if (!string.IsNullOrWhiteSpace(text))
            {
                return JournalSettings.Parse(text);
            }

            return provider?.Trim().ToLowerInvariant() switch
            {
                null or "" when string.IsNullOrWhiteSpace(connection) => null,
                "postgres" or "postgresql" => JournalSettings.Postgres(connection ?? ""),
                "sqlite" when !string.IsNullOrWhiteSpace(connection) => JournalSettings.Sqlite(connection),
                "sqlite" => null,
                _ => throw new ArgumentException($"'{provider}' is not a journal provider (sqlite or postgres)"),
            };
        }
        catch (ArgumentException e)
        {
            throw Invalid(JournalKey, "--journal", e.Message.Split(" (Parameter", StringSplitOptions.None)[0]);
        }
    }

    /// <summary>
    /// NodeName, ClusterHost, ClusterPort and Seeds (a list, or one comma-separated string of HOST:PORT); StableAfter and
    /// HeartbeatPause (durations: how soon a lost member is found and downed), JoinTimeout (how long a node tries to join
    /// its seeds before it exits for a fresh start) and SharedRoots (storage roots mounted at
    /// the same path on other hosts, whose disks may move here when their host is downed) have no flag, only the
    /// configuration.
    /// </summary>
    private static ClusterSettings ReadCluster(IConfiguration configuration)
    {
        var settings = new ClusterSettings();
        var name = configuration[NodeNameKey];
        var host = configuration[ClusterHostKey];
        var port = ReadCount(configuration, ClusterPortKey, "--cluster-port");
        var section = configuration.GetSection(SeedsKey);
        var seeds = section.GetChildren().Where(c => !string.IsNullOrWhiteSpace(c.Value)).Select(c => c.Value!.Trim()).ToList();
        if (seeds.Count == 0 && section.Value is { Length: > 0 } text)
        {
            seeds = [.. text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)];
        }

        settings = Apply(settings, NodeNameKey, "--node-name", s => string.IsNullOrWhiteSpace(name) ? s : s with { NodeName = name.Trim() });
        settings = Apply(settings, ClusterHostKey, "--cluster-host", s => string.IsNullOrWhiteSpace(host) ? s : s with { Hostname = host.Trim() });
        settings = Apply(settings, ClusterPortKey, "--cluster-port", s => port is null ? s : s with { Port = port is >= 0 and <= 65535 ? (int)port : -1 });
        settings = ApplyDuration(configuration, settings, StableAfterKey, (s, d) => s with { StableAfter = d });
        settings = ApplyDuration(configuration, settings, HeartbeatPauseKey, (s, d) => s with { HeartbeatPause = d });
        settings = ApplyDuration(configuration, settings, JoinTimeoutKey, (s, d) => s with { JoinTimeout = d });
        var shared = ReadList(configuration.GetSection(SharedRootsKey)).Select(r => Path.IsPathFullyQualified(r) ? Path.GetFullPath(r) : r).ToList();
        settings = Apply(settings, SharedRootsKey, "ORCHESTRATOR_SHAREDROOTS", s => s with { SharedRoots = shared });
        return Apply(settings, SeedsKey, "--seed", s => s with { Seeds = seeds });
    }

    private static ClusterSettings ApplyDuration(IConfiguration configuration, ClusterSettings settings, string key, Func<ClusterSettings, TimeSpan, ClusterSettings> change)
    {
        var text = configuration[key];
        if (string.IsNullOrWhiteSpace(text))
        {
            return settings;
        }

        var duration = ParseDuration(text) ?? throw Invalid(key, $"{NodeConfiguration.EnvironmentPrefix}{key.ToUpperInvariant()}", $"'{text}' is not a duration (seconds, or hh:mm:ss)");
        return Apply(settings, key, $"{NodeConfiguration.EnvironmentPrefix}{key.ToUpperInvariant()}", s => change(s, duration));
    }

    private static ClusterSettings Apply(ClusterSettings settings, string key, string flag, Func<ClusterSettings, ClusterSettings> change)
    {
        try
        {
            return change(settings);
        }
        catch (ArgumentException e)
        {
            throw Invalid(key, flag, e.Message.Split(" (Parameter", StringSplitOptions.None)[0]);
        }
    }

    /// <summary>A whole number (no suffix); null when unset.</summary>
    private static long? ReadCount(IConfiguration configuration, string key, string flag)
    {
        var text = configuration[key];
        if (string.IsNullOrWhiteSpace(text))
        {
            return null;
        }

        return long.TryParse(text.Trim(), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var value)
            ? value
            : throw Invalid(key, flag, $"'{text}' is not a whole number");
    }

    /// <summary>A size in bytes, with an optional binary suffix as qemu-img reads sizes (k, M, G; b for bytes); null when unset.</summary>
    private static long? ReadSize(IConfiguration configuration, string key, string flag)
    {
        var text = configuration[key];
        if (string.IsNullOrWhiteSpace(text))
        {
            return null;
        }

        return ParseSize(text) ?? throw Invalid(key, flag, $"'{text}' is not a size in bytes (examples: 1048576, 512K, 8M)");
    }

    private static long? ParseSize(string text)
    {
        var trimmed = text.Trim();
        var shift = char.ToUpperInvariant(trimmed[^1]) switch { 'B' => 0, 'K' => 10, 'M' => 20, 'G' => 30, _ => -1 };
        var number = shift >= 0 ? trimmed[..^1] : trimmed;
        if (!decimal.TryParse(number, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var value))
        {
            return null;
        }

        try
        {
            var bytes = value * (1L << Math.Max(shift, 0));
            return bytes == decimal.Truncate(bytes) && bytes <= long.MaxValue ? (long)bytes : null;
        }
        catch (OverflowException)
        {
            return null;
        }
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
