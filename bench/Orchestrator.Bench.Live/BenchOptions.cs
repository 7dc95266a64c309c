using System.Globalization;
using Orchestrator.Qcow2.IO;

namespace Orchestrator.Bench.Live;

/// <summary>Command line of the live stream benchmark; a bad argument fails at start with a usage line.</summary>
internal sealed record BenchOptions
{
    public const string Usage =
        "usage: Orchestrator.Bench.Live --dir DIR --base A.qcow2 --top D.qcow2 [--cache page|direct] [--checkpoint-bytes N]\n" +
        "         [--batch-bytes N] [--guest-writes] [--idle-seconds S] [--warmup-seconds S] [--seed N] [--timeout-seconds S]\n" +
        "         [--no-engine-warmup] [--verbose]\n" +
        "  Streams TOP onto BASE (both relative to DIR unless absolute) with the live engine and prints one JSON line.";

    public required string Dir { get; init; }

    public required string BasePath { get; init; }

    public required string TopPath { get; init; }

    public CacheMode Cache { get; init; } = CacheMode.PageCache;

    /// <summary>Null: the engine's default checkpoint size.</summary>
    public long? CheckpointBytes { get; init; }

    /// <summary>Null: the engine's default batch size.</summary>
    public int? BatchBytes { get; init; }

    public bool GuestWrites { get; init; }

    /// <summary>Idle guest latency window before the stream starts (with --guest-writes).</summary>
    public double IdleSeconds { get; init; } = 2.0;

    /// <summary>Guest writes before the idle window that are not counted (JIT, first allocations).</summary>
    public double WarmupSeconds { get; init; } = 0.5;

    public int Seed { get; init; } = 4242;

    public double TimeoutSeconds { get; init; } = 900;

    /// <summary>Stream a tiny throwaway chain first so the timed job does not pay for JIT and journal start-up.</summary>
    public bool EngineWarmup { get; init; } = true;

    /// <summary>Phase times and every job event of the timed job, relative to the Stream ask, on stderr.</summary>
    public bool Verbose { get; init; }

    public static BenchOptions Parse(string[] args)
    {
        string? dir = null, basePath = null, top = null;
        var options = new BenchOptions { Dir = "", BasePath = "", TopPath = "" };
        for (var i = 0; i < args.Length; i++)
        {
            var name = args[i];
            string Value() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{name} needs a value");
            switch (name)
            {
                case "--dir":
                    dir = Value();
                    break;
                case "--base":
                    basePath = Value();
                    break;
                case "--top":
                    top = Value();
                    break;
                case "--cache":
                    options = options with
                    {
                        Cache = Value() switch
                        {
                            "page" => CacheMode.PageCache,
                            "direct" => CacheMode.Direct,
                            var other => throw new ArgumentException($"--cache must be page or direct, not '{other}'"),
                        },
                    };
                    break;
                case "--checkpoint-bytes":
                    options = options with { CheckpointBytes = ParseLong(name, Value()) };
                    break;
                case "--batch-bytes":
                    options = options with { BatchBytes = checked((int)ParseLong(name, Value())) };
                    break;
                case "--guest-writes":
                    options = options with { GuestWrites = true };
                    break;
                case "--idle-seconds":
                    options = options with { IdleSeconds = ParseDouble(name, Value()) };
                    break;
                case "--warmup-seconds":
                    options = options with { WarmupSeconds = ParseDouble(name, Value()) };
                    break;
                case "--seed":
                    options = options with { Seed = checked((int)ParseLong(name, Value())) };
                    break;
                case "--timeout-seconds":
                    options = options with { TimeoutSeconds = ParseDouble(name, Value()) };
                    break;
                case "--verbose":
                    options = options with { Verbose = true };
                    break;
                case "--no-engine-warmup":
                    options = options with { EngineWarmup = false };
                    break;
                case "-h" or "--help":
                    throw new ArgumentException("");
                default:
                    throw new ArgumentException($"unknown argument '{name}'");
            }
        }

        if (dir is null || basePath is null || top is null)
        {
            throw new ArgumentException("--dir, --base and --top are required");
        }

        var fullDir = Path.GetFullPath(dir);
        if (!Directory.Exists(fullDir))
        {
            throw new ArgumentException($"--dir '{dir}' is not a directory");
        }

        return options with
        {
            Dir = fullDir,
            BasePath = Path.GetFullPath(basePath, fullDir),
            TopPath = Path.GetFullPath(top, fullDir),
        };
    }

    private static long ParseLong(string name, string value) =>
        long.TryParse(value, NumberStyles.Integer, CultureInfo.InvariantCulture, out var n) && n >= 0
            ? n
            : throw new ArgumentException($"{name} must be a non-negative integer, not '{value}'");

    private static double ParseDouble(string name, string value) =>
        double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out var d) && d >= 0
            ? d
            : throw new ArgumentException($"{name} must be a non-negative number, not '{value}'");
}
