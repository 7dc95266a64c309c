using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using Microsoft.Data.Sqlite;
using Orchestrator.Cli.Commands.Client;
using Orchestrator.Testing;

namespace Orchestrator.Node.Tests;

/// <summary>
/// A four-image chain A &lt;- B &lt;- C &lt;- D made by qemu-img and qemu-io, dense enough that a stream scans (and
/// copies) almost every cluster: A is full, B covers the low part, C the high part with a run of zero clusters,
/// D has a few small writes of its own. Patterns and offsets come from the caller's seeded random.
/// </summary>
internal sealed record CrashChain(string A, string B, string C, string D, string Layout)
{
    public const long Size = 96L * 1024 * 1024;
    private const long MiB = 1024 * 1024;

    public static CrashChain Create(string folder, Random rng)
    {
        var a = Path.Combine(folder, "A.qcow2");
        var b = Path.Combine(folder, "B.qcow2");
        var c = Path.Combine(folder, "C.qcow2");
        var d = Path.Combine(folder, "D.qcow2");
        int Pattern() => rng.Next(1, 256);
        string M(long bytes) => string.Create(CultureInfo.InvariantCulture, $"{bytes / 1024}k");

        var bEnd = (48 + rng.Next(0, 17)) * MiB;
        var cStart = (24 + rng.Next(0, 17)) * MiB;
        var zero = (cStart / MiB + rng.Next(4, 40)) * MiB;
        var d1 = rng.Next(0, (int)(Size / (64 * 1024)) - 16) * 64L * 1024;
        var d2 = rng.Next(0, (int)(Size / (64 * 1024)) - 16) * 64L * 1024;
        var cmds = new[]
        {
            (a, $"write -P {Pattern()} 0 {M(Size)}"),
            (b, $"write -P {Pattern()} 0 {M(bEnd)}"),
            (c, $"write -P {Pattern()} {M(cStart)} {M(Size - cStart)}"),
            (c, $"write -z {M(zero)} 4M"),
            (d, $"write -P {Pattern()} {M(d1)} 1M"),
            (d, $"write -P {Pattern()} {M(d2)} 192k"),
        };

        QemuTools.Create(a, Size);
        QemuTools.Create(b, Size, backing: "A.qcow2", workingDirectory: folder);
        QemuTools.Create(c, Size, backing: "B.qcow2", workingDirectory: folder);
        QemuTools.Create(d, Size, backing: "C.qcow2", workingDirectory: folder);
        foreach (var group in cmds.GroupBy(x => x.Item1))
        {
            var args = new List<string> { "-f", "qcow2" };
            foreach (var (_, cmd) in group)
            {
                args.AddRange(["-c", cmd]);
            }

            args.Add(group.Key);
            QemuTools.Io([.. args]).EnsureSuccess();
        }

        var layout = string.Join("; ", cmds.Select(x => $"{Path.GetFileName(x.Item1)}: {x.Item2}"));
        return new CrashChain(a, b, c, d, layout);
    }
}

/// <summary>
/// What the node's SQLite journal held for one job when the node died (read while no node runs). It reads journal rows
/// only: right for these runs, whose disks persist fewer events than the snapshot interval (100), after which the
/// rows before the snapshot are deleted.
/// </summary>
internal sealed record JournalFacts(long LastCheckpoint, int Checkpoints, bool Finished, bool Committed)
{
    public override string ToString() =>
        $"last persisted checkpoint {LastCheckpoint} ({Checkpoints} checkpoints), finished={Finished}, committed={Committed}";

    public static JournalFacts Read(string journalPath, string disk, string job)
    {
        // No pooling: the file must be closed before the node starts again.
        using var connection = new SqliteConnection($"Data Source={journalPath};Pooling=False");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT manifest, message FROM journal WHERE persistence_id = $id ORDER BY sequence_number";
        command.Parameters.AddWithValue("$id", $"disk-{disk}");
        using var reader = command.ExecuteReader();
        long last = 0;
        var count = 0;
        var finished = false;
        var committed = false;
        while (reader.Read())
        {
            // The wire serializer's rows: the manifest is the event's stable wire name, the payload plain JSON.
            var type = reader.GetString(0);
            var e = Json.Parse(System.Text.Encoding.UTF8.GetString(reader.GetFieldValue<byte[]>(1)));
            var jobId = e.TryGetProperty("JobId", out var id) && id.TryGetProperty("Value", out var v) ? v.GetString() : null;
            switch (type)
            {
                case "job.created.v2" when jobId == job:
                    // A new job with the same id starts from nothing.
                    (last, count, finished, committed) = (0, 0, false, false);
                    break;
                case "job.checkpointed.v1" when jobId == job:
                    last = Math.Max(last, e.GetProperty("Offset").GetInt64());
                    count++;
                    break;
                case "job.finished.v1" when jobId == job:
                    finished = true;
                    break;
                case "disk.chain-changed.v1" when e.TryGetProperty("Reason", out var reason) && reason.GetString() == $"job '{job}' committed":
                    committed = true;
                    break;
            }
        }

        return new JournalFacts(last, count, finished, committed);
    }
}

/// <summary>Follows a node's /events (SSE) in the background and keeps every QMP event, until the node dies or dispose.</summary>
internal sealed class EventRecorder : IAsyncDisposable
{
    private readonly ConcurrentQueue<(long Id, JsonElement Event)> _events = new();
    private readonly CancellationTokenSource _stop = new();
    private readonly HttpClient _http;
    private readonly Task _loop;
    private readonly TaskCompletionSource _connected = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private EventRecorder(NodeProcess node, long? afterId)
    {
        _http = new HttpClient { BaseAddress = node.Url, Timeout = Timeout.InfiniteTimeSpan };
        _http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", node.Token);
        if (afterId is { } after)
        {
            _http.DefaultRequestHeaders.Add("Last-Event-ID", after.ToString(System.Globalization.CultureInfo.InvariantCulture));
        }

        _loop = Task.Run(RunAsync);
    }

    /// <summary>
    /// Starts following (from the first retained event, or after <paramref name="afterId"/> as a reconnecting SSE client
    /// does) and returns once the stream is open.
    /// </summary>
    public static async Task<EventRecorder> FollowAsync(NodeProcess node, long? afterId = null)
    {
        var recorder = new EventRecorder(node, afterId);
        await recorder._connected.Task.WaitAsync(TimeSpan.FromSeconds(30));
        return recorder;
    }

    public IReadOnlyList<JsonElement> Events => [.. _events.Select(e => e.Event)];

    /// <summary>Every event with its SSE id (the node's durable event sequence), in the order received.</summary>
    public IReadOnlyList<(long Id, JsonElement Event)> Numbered => [.. _events];

    /// <summary>Events named <paramref name="name"/> about job/device <paramref name="device"/>.</summary>
    public IReadOnlyList<JsonElement> Named(string name, string device) =>
        Events.Where(e => e.GetProperty("event").GetString() == name && e.GetProperty("data") is var d
            && ((d.TryGetProperty("device", out var dev) && dev.GetString() == device) || (d.TryGetProperty("id", out var id) && id.GetString() == device)))
            .ToList();

    /// <summary>Waits until an event matches (true), or the timeout passes (false). Events reach the stream a little after the fact they report.</summary>
    public async Task<bool> WaitForAsync(Func<JsonElement, bool> match, TimeSpan timeout)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (!Events.Any(match))
        {
            if (clock.Elapsed > timeout)
            {
                return false;
            }

            await Task.Delay(10);
        }

        return true;
    }

    /// <summary>The job left the node (JOB_STATUS_CHANGE to null) according to this stream.</summary>
    public static bool IsDismissed(JsonElement e, string job) =>
        e.GetProperty("event").GetString() == "JOB_STATUS_CHANGE" && e.GetProperty("data") is var d
        && d.GetProperty("id").GetString() == job && d.GetProperty("status").GetString() == "null";

    public string Summary() =>
        string.Join(", ", Events.Select(e => e.GetProperty("event").GetString() switch
        {
            "JOB_STATUS_CHANGE" => e.GetProperty("data").GetProperty("status").GetString(),
            var other => other,
        }));

    private async Task RunAsync()
    {
        try
        {
            using var response = await _http.GetAsync("events", HttpCompletionOption.ResponseHeadersRead, _stop.Token);
            if (response.StatusCode != HttpStatusCode.OK)
            {
                _connected.TrySetException(new InvalidOperationException($"GET /events answered {(int)response.StatusCode}"));
                return;
            }

            _connected.TrySetResult();
            await using var stream = await response.Content.ReadAsStreamAsync(_stop.Token);
            await foreach (var message in SseReader.ReadAsync(stream, _stop.Token))
            {
                _events.Enqueue((long.Parse(message.Id ?? "0", System.Globalization.CultureInfo.InvariantCulture), Json.Parse(message.Data)));
            }
        }
        catch (Exception e) when (e is HttpRequestException or IOException or OperationCanceledException)
        {
            // The node was killed or the recorder disposed: keep what arrived.
            _connected.TrySetException(e);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        await _loop.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        _http.Dispose();
        _stop.Dispose();
    }
}

/// <summary>Reads a qcow2 header's backing file name straight from the file, while the node may be writing it.</summary>
internal static class HeaderProbe
{
    public static string? BackingFile(string path)
    {
        using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, bufferSize: 1);
        Span<byte> header = stackalloc byte[20];
        file.ReadExactly(header);
        var offset = BinaryPrimitives.ReadUInt64BigEndian(header[8..]);
        var size = BinaryPrimitives.ReadUInt32BigEndian(header[16..]);
        if (offset == 0 || size == 0 || size > 1023)
        {
            return null;
        }

        var name = new byte[size];
        file.Position = (long)offset;
        file.ReadExactly(name);
        return System.Text.Encoding.UTF8.GetString(name);
    }

    /// <summary>
    /// Spins until the header's backing file is no longer <paramref name="before"/> (the commit point was written) or
    /// the timeout passes; returns how long it watched. Spinning, not sleeping: the kill must follow within microseconds.
    /// </summary>
    public static TimeSpan WaitForChange(string path, string? before, TimeSpan timeout, out bool changed)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        changed = false;
        while (clock.Elapsed < timeout)
        {
            if (BackingFile(path) != before)
            {
                changed = true;
                break;
            }

            Thread.Yield();
        }

        return clock.Elapsed;
    }
}
