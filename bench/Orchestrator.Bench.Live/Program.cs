using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Akka.Actor;
using Akka.Configuration;
using Orchestrator.Bench.Live;
using Orchestrator.Domain;
using Orchestrator.Domain.Disks;
using Orchestrator.Domain.Jobs;
using Orchestrator.Engine;
using Orchestrator.Engine.Disks;
using Orchestrator.Qcow2;
using Orchestrator.Qcow2.Chain;
using Orchestrator.Qcow2.IO;

// One live stream through the engine, as a QMP client would drive it: register the disk with the DiskManagerActor,
// (optionally) let a guest write through the LiveDisk, send Stream, wait for BLOCK_JOB_COMPLETED on the EventHub.
// The only stdout output is one JSON line; Akka's console logger and diagnostics go to stderr.
var stdout = Console.Out;
Console.SetOut(Console.Error);

BenchOptions options;
try
{
    options = BenchOptions.Parse(args);
}
catch (ArgumentException e)
{
    if (e.Message.Length > 0)
    {
        Console.Error.WriteLine($"error: {e.Message}");
    }

    Console.Error.WriteLine(BenchOptions.Usage);
    return 2;
}

try
{
    var result = await LiveStreamBench.Run(options);
    stdout.WriteLine(result);
    stdout.Flush();
    return 0;
}
catch (BenchFailure e)
{
    Console.Error.WriteLine($"error: {e.Message}");
    return 1;
}

internal sealed class BenchFailure(string message) : Exception(message);

/// <summary>The result line's fields, in order; written as one JSON object.</summary>
internal sealed class Fields : List<KeyValuePair<string, object?>>
{
    public void Add(string key, object? value) => Add(new KeyValuePair<string, object?>(key, value));

    public string ToJson()
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            foreach (var (key, value) in this)
            {
                switch (value)
                {
                    case null:
                        json.WriteNull(key);
                        break;
                    case string text:
                        json.WriteString(key, text);
                        break;
                    case bool flag:
                        json.WriteBoolean(key, flag);
                        break;
                    case int number:
                        json.WriteNumber(key, number);
                        break;
                    case long number:
                        json.WriteNumber(key, number);
                        break;
                    case double number:
                        json.WriteNumber(key, number);
                        break;
                    default:
                        throw new InvalidOperationException($"field {key}: unsupported type {value.GetType().Name}");
                }
            }

            json.WriteEndObject();
        }

        return Encoding.UTF8.GetString(buffer.ToArray());
    }
}

internal static class LiveStreamBench
{
    private static readonly TimeSpan AskTimeout = TimeSpan.FromSeconds(60);
    private static readonly DiskId Disk = new("bench");
    private static readonly DiskId WarmupDisk = new("warmup");

    public static async Task<string> Run(BenchOptions o)
    {
        var journal = Path.Combine(o.Dir, "bench-journal.db");
        foreach (var suffix in new[] { "", "-wal", "-shm", "-journal" })
        {
            File.Delete(journal + suffix);
        }

        var defaults = new EngineSettings();
        var settings = new EngineSettings
        {
            StorageRoots = [o.Dir],
            Cache = o.Cache,
            CheckpointBytes = o.CheckpointBytes ?? defaults.CheckpointBytes,
            BatchBytes = o.BatchBytes ?? defaults.BatchBytes,
        };

        // The engine runs in a cluster member: a cluster of one, as a lone node is.
        var system = ActorSystem.Create("bench", Orchestrator.Engine.Cluster.ClusterOfOne.Config("bench").WithFallback(SqliteConfig(journal)));
        Orchestrator.Engine.Cluster.ClusterOfOne.Join(system, "bench");
        Fields fields;
        GuestWriter? writer;
        try
        {
            var events = new EventHub();
            var disks = new LocalDisks();
            var (manager, _) = DiskEngine.Start(system, settings, events, disks, "bench");
            if (o.EngineWarmup)
            {
                await WarmUp(manager, disks, events, o.Dir, o.Cache);
            }

            (fields, writer) = await Measure(o, settings, manager, disks, events);
        }
        finally
        {
            await system.Terminate().WaitAsync(TimeSpan.FromSeconds(60));
        }

        if (writer is not null)
        {
            // After the engine closed the disk: every block the guest wrote, read back from the files.
            using var chain = ImageChain.Open(o.TopPath, new ChainOpenOptions());
            var (blocks, mismatches) = writer.VerifyWith((offset, buffer) => chain.Read(offset, buffer));
            fields.Add("guest_blocks_verified", blocks);
            fields.Add("guest_blocks_lost", mismatches);
        }

        return fields.ToJson();
    }

    private static async Task<(Fields Fields, GuestWriter? Writer)> Measure(BenchOptions o, EngineSettings settings, IActorRef manager, LocalDisks disks, EventHub events)
    {
        var registered = Expect<DiskReplies.DiskInfo>(await manager.Ask<object>(new DiskCommands.Register(Disk, o.TopPath), AskTimeout));
        var topBefore = registered.Images[0];
        var virtualSize = topBefore.VirtualSize;

        GuestWriter? writer = null;
        long idleFrom = 0, idleTo = 0;
        if (o.GuestWrites)
        {
            var live = LiveDiskOf(disks, Disk);
            writer = new GuestWriter(live, virtualSize, o.Seed);
            writer.Start();
            await Task.Delay(TimeSpan.FromSeconds(o.WarmupSeconds));
            idleFrom = Stopwatch.GetTimestamp();
            await Task.Delay(TimeSpan.FromSeconds(o.IdleSeconds));
            idleTo = Stopwatch.GetTimestamp();
        }

        var (started, completed, streamFrom, streamTo) = await StreamAndWait(manager, events, Disk,
            new StreamRequest { Base = o.BasePath }, TimeSpan.FromSeconds(o.TimeoutSeconds), o.Verbose);

        LatencyStats? idle = null, during = null;
        if (writer is not null)
        {
            writer.Stop();
            idle = writer.Window(idleFrom, idleTo);
            during = writer.Window(streamFrom, streamTo);
            var live = LiveDiskOf(disks, Disk);
            live.Flush();
            if (writer.Error is not null)
            {
                throw new BenchFailure($"guest write failed: {writer.Error}");
            }
        }

        var after = Expect<DiskReplies.DiskInfo>(await manager.Ask<object>(new DiskCommands.Show(Disk), AskTimeout));
        var topAfter = after.Images[0];
        var jobSeconds = (double)(streamTo - streamFrom) / Stopwatch.Frequency;

        var fields = new Fields
        {
            { "tool", "ours" },
            { "cache", o.Cache == CacheMode.Direct ? "direct" : "page" },
            { "checkpoint_bytes", settings.CheckpointBytes },
            { "batch_bytes", settings.BatchBytes },
            { "guest_writes", o.GuestWrites },
            { "job_s", Math.Round(jobSeconds, 6) },
            // With guest writes this includes the clusters the guest allocated.
            { "copied_bytes", topAfter.AllocatedBytes - topBefore.AllocatedBytes },
            { "top_allocated_before", topBefore.AllocatedBytes },
            { "top_allocated_after", topAfter.AllocatedBytes },
            { "job_len", completed.Len },
            { "job_offset", completed.Offset },
            { "job_id", started.Job.Device },
            { "backing_file_after", topAfter.BackingFile },
            { "chain_length_after", after.Chain.Count },
        };
        AddLatency(fields, "idle", idle);
        AddLatency(fields, "stream", during);
        fields.Add("writes", writer?.Count ?? 0);
        return (fields, writer);
    }

    /// <summary>Sends Stream and waits for its BLOCK_JOB_COMPLETED; the times are Stopwatch ticks (ask sent, event received).</summary>
    private static async Task<(DiskReplies.JobStarted Started, BlockJobCompletedEvent Completed, long From, long To)> StreamAndWait(
        IActorRef manager, EventHub events, DiskId disk, StreamRequest request, TimeSpan timeout, bool verbose = false)
    {
        using var cts = new CancellationTokenSource(timeout);
        // Replay from the last event seen, so the completion is caught even if the subscription registers late.
        var after = events.Retained().LastOrDefault()?.Sequence ?? 0;
        var jobId = request.JobId?.Value ?? disk.Value;
        // The waiter is subscribed (a few microseconds) inside the timed span, so no event can slip past it.
        var from = Stopwatch.GetTimestamp();
        var waiter = WaitForEnd(events, after, jobId, cts.Token, verbose ? from : null);
        var started = Expect<DiskReplies.JobStarted>(await manager.Ask<object>(new DiskCommands.Stream(disk, request), AskTimeout));
        Trace(verbose, from, "JobStarted reply");
        var (end, at) = await waiter;
        return end switch
        {
            BlockJobCompletedEvent { Error: null } done => (started, done, from, at),
            BlockJobCompletedEvent failed => throw new BenchFailure($"job '{jobId}' failed: {failed.Error}"),
            _ => throw new BenchFailure($"job '{jobId}' ended with {end.Event}"),
        };
    }

    private static void Trace(bool verbose, long from, string what)
    {
        if (verbose)
        {
            Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"[bench] +{(Stopwatch.GetTimestamp() - from) * 1000.0 / Stopwatch.Frequency,9:F3} ms  {what}"));
        }
    }

    private static async Task<(BlockJobEvent Event, long At)> WaitForEnd(EventHub events, long after, string jobId, CancellationToken ct, long? traceFrom)
    {
        try
        {
            await foreach (var e in events.Subscribe(after, ct))
            {
                if (traceFrom is { } from)
                {
                    Trace(true, from, e is JobStatusChangeEvent s ? $"{e.Event} {s.Status}" : e.Event);
                }

                if (e is BlockJobCompletedEvent c && c.Device == jobId)
                {
                    return (c, Stopwatch.GetTimestamp());
                }

                if (e is BlockJobCancelledEvent x && x.Device == jobId)
                {
                    return (x, Stopwatch.GetTimestamp());
                }
            }
        }
        catch (OperationCanceledException)
        {
            // Reported below.
        }

        var seen = string.Join(", ", events.Retained().Select(e => e.Event));
        throw new BenchFailure($"no BLOCK_JOB_COMPLETED for '{jobId}' in time; events: {seen}");
    }

    /// <summary>
    /// A 4 MiB chain w0 &lt;- w1 &lt;- w2 streamed once, untimed, so the timed job does not pay for JIT compilation and
    /// the journal's first writes (a native QEMU has neither).
    /// </summary>
    /// <summary>The disk's guest I/O path, as the NBD exports find it (its chain opens off the actor's thread).</summary>
    private static LiveDisk LiveDiskOf(LocalDisks disks, DiskId disk)
    {
        var deadline = DateTime.UtcNow + AskTimeout;
        while (DateTime.UtcNow < deadline)
        {
            if (disks.Find(disk) is { } live)
            {
                return live;
            }

            Thread.Sleep(10);
        }

        throw new BenchFailure($"disk '{disk}' has no open guest I/O path");
    }

    private static async Task WarmUp(IActorRef manager, LocalDisks disks, EventHub events, string dir, CacheMode cache)
    {
        var warmDir = Path.Combine(dir, ".bench-warmup");
        if (Directory.Exists(warmDir))
        {
            Directory.Delete(warmDir, recursive: true);
        }

        Directory.CreateDirectory(warmDir);
        const long size = 4 * 1024 * 1024;
        var random = new Random(1);
        var data = new byte[256 * 1024];
        var paths = new List<string>();
        for (var i = 0; i < 3; i++)
        {
            var path = Path.Combine(warmDir, $"w{i}.qcow2");
            Qcow2Image.Create(path, new ImageCreateOptions
            {
                Size = size,
                BackingFile = i == 0 ? null : Path.GetFileName(paths[^1]),
                BackingFormat = "qcow2",
                Cache = cache,
            }).Dispose();
            if (i < 2)
            {
                using var chain = ImageChain.Open(path, new ChainOpenOptions { WritableTop = true, TopCache = cache, BackingCache = cache });
                for (var w = 0; w < 4; w++)
                {
                    random.NextBytes(data);
                    chain.Write(random.NextInt64(0, (size - data.Length) / 65536) * 65536, data);
                }

                chain.Flush();
            }

            paths.Add(path);
        }

        Expect<DiskReplies.DiskInfo>(await manager.Ask<object>(new DiskCommands.Register(WarmupDisk, paths[^1]), AskTimeout));
        var live = LiveDiskOf(disks, WarmupDisk);
        live.Write(8192, data.AsSpan(0, 4096));
        await StreamAndWait(manager, events, WarmupDisk, new StreamRequest { Base = paths[0] }, TimeSpan.FromSeconds(60));
        Expect<DiskReplies.Done>(await manager.Ask<object>(new DiskCommands.Unregister(WarmupDisk), AskTimeout));
    }

    private static void AddLatency(Fields fields, string prefix, LatencyStats? stats)
    {
        fields.Add($"{prefix}_p50_us", stats is null ? null : Math.Round(stats.P50Us, 1));
        fields.Add($"{prefix}_p99_us", stats is null ? null : Math.Round(stats.P99Us, 1));
        fields.Add($"{prefix}_max_us", stats is null ? null : Math.Round(stats.MaxUs, 1));
        fields.Add($"{prefix}_iops", stats is null ? null : Math.Round(stats.Iops, 1));
        fields.Add($"{prefix}_writes", stats?.Writes);
    }

    private static T Expect<T>(object reply) => reply switch
    {
        T typed => typed,
        DiskReplies.Refused refused => throw new BenchFailure($"refused: {refused.Error.Code}: {refused.Error.Message}"),
        _ => throw new BenchFailure($"expected {typeof(T).Name}, got {reply}"),
    };

    private static Config SqliteConfig(string databasePath) => SqliteJournalConfig.For(databasePath);
}
