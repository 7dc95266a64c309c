using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text.Json;
using System.Text.RegularExpressions;
using Orchestrator.Testing;

namespace Orchestrator.Node.Tests;

/// <summary>
/// Crash recovery with real processes: a node running a stream or block-copy job is killed with SIGKILL at a random
/// moment, started again on the same data folder, and must resume the job by itself from its last persisted
/// checkpoint (nobody sends it anything but queries), complete it exactly once, and leave the chain as qemu-img
/// expects. The kill points are random but seeded: ORCH_TEST_SEED replays a run (the seed is in every message).
/// </summary>
public sealed partial class NodeCrashTests(ITestOutputHelper output)
{
    private const long KiB = 1024;
    private const long MiB = 1024 * KiB;
    private const long Batch = 1 * MiB;
    private const long Checkpoint = 4 * MiB;

    // 24 MiB/s: the rate limiter's 100 ms slices let 2-3 batches through at a time, so the job sits below its first
    // checkpoint (4 MiB) for long enough to be killed there; 96 MiB take about 4 s.
    private const long Speed = 24 * MiB;
    private const string Disk = "vm";
    // A short request timeout: an engine that cannot answer shows up in seconds, not half a minute per request.
    private static readonly string[] NodeArgs = ["--batch-size", "1M", "--checkpoint-size", "4M", "--request-timeout", "5"];
    private static readonly TimeSpan ReadyTimeout = TimeSpan.FromSeconds(20);
    private static readonly TimeSpan JobTimeout = TimeSpan.FromSeconds(60);

    private enum JobKind
    {
        Stream,
        BlockCopy,
    }

    /// <summary>Where to kill: once the job's offset reaches a random target in [Min, Max], after a random extra delay.</summary>
    /// <param name="AtHeaderCommit">Past the target, watch the top's header and kill the moment the new backing file lands in it.</param>
    private sealed record KillPlan(string Name, long Min, long Max, int MaxExtraDelayMs, bool AtHeaderCommit = false);

    private sealed record Iteration(string Line, List<string> Failures);

    [Fact]
    public async Task Stream_killed_at_random_points_resumes_by_itself_and_completes_once()
    {
        var seed = Seed();
        var rng = new Random(seed);
        var len = CrashChain.Size;
        KillPlan[] plans =
        [
            new("before the first checkpoint", 1 * MiB, 3 * MiB, 0),
            new("early", len / 10, len * 35 / 100, 100),
            new("middle", len * 35 / 100, len * 60 / 100, 100),
            new("late", len * 60 / 100, len * 85 / 100, 100),
            new("near the end", len - (3 * MiB), len - (1 * MiB), 200),
            new("right after the header commit", len - (4 * MiB), len - (3 * MiB), 0, AtHeaderCommit: true),
        ];

        await RunIterationsAsync(seed, rng, JobKind.Stream, plans);
    }

    [Fact]
    public async Task Block_copy_killed_midway_resumes_and_the_destination_becomes_the_whole_disk()
    {
        var seed = Seed();
        var rng = new Random(seed);
        var len = CrashChain.Size;
        KillPlan[] plans =
        [
            new("early", 2 * MiB, len * 30 / 100, 100),
            new("middle", len * 30 / 100, len * 70 / 100, 100),
            new("right after the header commit", len - (4 * MiB), len - (3 * MiB), 0, AtHeaderCommit: true),
        ];

        await RunIterationsAsync(seed, rng, JobKind.BlockCopy, plans);
    }

    [Fact]
    public async Task Paused_job_survives_a_crash_paused_with_its_offset_and_completes_on_resume()
    {
        var seed = Seed();
        var rng = new Random(seed);
        var context = $"[seed {seed}, paused job]";
        var failures = new List<string>();
        var clock = Stopwatch.StartNew();
        using var folder = new TempDirectory("crash-paused");
        var images = Directory.CreateDirectory(Path.Combine(folder.Path, "images")).FullName;
        var chain = CrashChain.Create(images, rng);
        var reference = Path.Combine(folder.Path, "ref.raw");
        QemuTools.ConvertToRaw(chain.D, reference);

        long pausedOffset;
        var node = await StartNodeAsync(folder.Path);
        try
        {
            await RegisterAsync(node, chain.D, context);
            await StartJobAsync(node, JobKind.Stream, chain, context);

            // Pause between two checkpoints: a pause that happens to stop on a persisted checkpoint cannot tell whether the
            // pause itself keeps the offset, so then resume and pause again a little further on (the journal is read while
            // the job is paused and nothing writes it).
            var journalPath = Path.Combine(folder.Path, "data", NodePaths.JournalFile);
            var pauseTarget = (8 * MiB) + rng.NextInt64(0, 8 * MiB);
            pausedOffset = 0;
            for (var attempt = 1; ; attempt++)
            {
                await PollJobAsync(node, j => j is { } job && Offset(job) >= pauseTarget && Offset(job) % Checkpoint != 0, TimeSpan.FromMilliseconds(3), context);
                using (var response = await node.Http.PostAsync($"jobs/{Disk}/pause", null))
                {
                    Assert.True(response.StatusCode == HttpStatusCode.OK, $"{context} pause answered {(int)response.StatusCode}: {await response.Content.ReadAsStringAsync()}");
                    Assert.True((await Json.BodyAsync(response)).GetProperty("paused").GetBoolean(), $"{context} pause did not report paused");
                }

                // The runner stops at its next pause point (after the batch in flight): wait until the offset holds still.
                pausedOffset = await StableOffsetAsync(node, context);
                var persisted = JournalFacts.Read(journalPath, Disk, Disk).LastCheckpoint;
                output.WriteLine($"{context} pause {attempt}: offset {pausedOffset}, last persisted checkpoint {persisted}");
                if (persisted != pausedOffset || attempt == 6)
                {
                    if (persisted == pausedOffset)
                    {
                        output.WriteLine($"{context} every pause stopped on a persisted checkpoint: this run cannot tell whether a pause keeps its offset");
                    }

                    break;
                }

                using (var response = await node.Http.PostAsync($"jobs/{Disk}/resume", null))
                {
                    Assert.True(response.StatusCode == HttpStatusCode.OK, $"{context} resume answered {(int)response.StatusCode}");
                }

                pauseTarget = pausedOffset + (2 * MiB) + rng.NextInt64(0, 2 * MiB);
            }

            var beforeKill = await GetJobAsync(node, Disk, context) ?? throw new InvalidOperationException($"{context} the paused job vanished");
            Assert.True(beforeKill.GetProperty("status").GetString() == "paused", $"{context} status before the kill: {beforeKill}");
            await node.KillAsync();
        }
        finally
        {
            await node.DisposeAsync();
        }

        var killedAt = clock.Elapsed;
        var journal = JournalFacts.Read(Path.Combine(folder.Path, "data", NodePaths.JournalFile), Disk, Disk);
        var restartClock = Stopwatch.StartNew();
        node = await StartNodeAsync(folder.Path);
        try
        {
            await using var events = await EventRecorder.FollowAsync(node);
            var first = await GetJobAsync(node, Disk, context);
            Assert.True(first is not null, $"{context} the paused job is gone after the restart ({journal})\nnode:\n{node.Output}");
            var job = first!.Value;
            var firstOffset = Offset(job);
            output.WriteLine($"{context} paused at offset {pausedOffset} ({Pct(pausedOffset)}), killed at {killedAt.TotalSeconds:F2} s; journal: {journal}; "
                + $"after restart: status {job.GetProperty("status").GetString()}, paused {job.GetProperty("paused").GetBoolean()}, offset {firstOffset}");
            if (job.GetProperty("status").GetString() != "paused" || !job.GetProperty("paused").GetBoolean())
            {
                failures.Add($"{context} after the restart the job is not paused: {job}");
            }

            if (firstOffset != pausedOffset)
            {
                failures.Add($"{context} the paused job's offset changed across the crash: {pausedOffset} before the kill, {firstOffset} after the restart "
                    + $"(journal: {journal}; the pause point was not persisted, so the copy since the last checkpoint is redone and the progress goes backwards)");
            }

            // Still paused a moment later: nothing copies until resume.
            await Task.Delay(600);
            var later = await GetJobAsync(node, Disk, context);
            if (later is not { } still || Offset(still) != firstOffset || still.GetProperty("status").GetString() != "paused")
            {
                failures.Add($"{context} the job did not stay paused after the restart: first {job}, 600 ms later {later?.ToString() ?? "gone"}");
            }

            using (var response = await node.Http.PostAsync($"jobs/{Disk}/resume", null))
            {
                Assert.True(response.StatusCode == HttpStatusCode.OK, $"{context} resume answered {(int)response.StatusCode}: {await response.Content.ReadAsStringAsync()}\n{string.Join("\n", failures)}");
            }

            var resumedAt = restartClock.Elapsed;
            await WaitGoneAsync(node, context + " " + string.Join(" | ", failures));
            var completedIn = restartClock.Elapsed - resumedAt;
            await events.WaitForAsync(e => EventRecorder.IsDismissed(e, Disk), TimeSpan.FromSeconds(5));
            var completed = events.Named("BLOCK_JOB_COMPLETED", Disk);
            if (completed.Count != 1 || completed[0].GetProperty("data").TryGetProperty("error", out _))
            {
                failures.Add($"{context} expected one BLOCK_JOB_COMPLETED without error after the resume, got {completed.Count}: {events.Summary()}");
            }

            failures.AddRange(await VerifyFinalStateAsync(node, JobKind.Stream, chain, null, reference, context));
            output.WriteLine($"{context} resumed and completed in {completedIn.TotalSeconds:F2} s; total {clock.Elapsed.TotalSeconds:F1} s; events after restart: {events.Summary()}");
        }
        finally
        {
            await node.DisposeAsync();
        }

        Assert.True(failures.Count == 0, string.Join("\n", failures));
    }

    private async Task RunIterationsAsync(int seed, Random rng, JobKind kind, KillPlan[] plans)
    {
        output.WriteLine($"seed {seed} (ORCH_TEST_SEED={seed} replays the same kill targets); {kind}, {plans.Length} iterations, "
            + $"virtual size {CrashChain.Size / MiB} MiB, speed {Speed / MiB} MiB/s, batch {Batch / MiB} MiB, checkpoint {Checkpoint / MiB} MiB");
        var total = Stopwatch.StartNew();
        var results = new List<Iteration>();
        for (var i = 0; i < plans.Length; i++)
        {
            var context = $"[seed {seed}, {kind} iteration {i + 1}/{plans.Length}: kill {plans[i].Name}]";
            Iteration result;
            try
            {
                result = await RunOneAsync(rng, kind, plans[i], context);
            }
            catch (Exception e)
            {
                result = new Iteration($"{context} aborted: {e.GetType().Name}: {FirstLine(e.Message)}", [$"{context} {Digest(e)}"]);
            }

            output.WriteLine(result.Line);
            foreach (var failure in result.Failures)
            {
                output.WriteLine("  FAILED: " + failure);
            }

            results.Add(result);
            if (result.Line.Contains(" aborted: ", StringComparison.Ordinal) && i + 1 < plans.Length)
            {
                // The node did not come back (or the job never ran): the next kill points would only repeat it, slowly.
                results.Add(new Iteration("", [$"[seed {seed}] iterations {i + 2}..{plans.Length} not run after iteration {i + 1} aborted"]));
                break;
            }
        }

        output.WriteLine($"seed {seed}: {kind} crash loop took {total.Elapsed.TotalSeconds:F1} s");
        var failures = results.SelectMany(r => r.Failures).ToList();
        Assert.True(failures.Count == 0, $"seed {seed}: {failures.Count} failure(s) in the {kind} crash loop:\n" + string.Join("\n", failures));
    }

    private async Task<Iteration> RunOneAsync(Random rng, JobKind kind, KillPlan plan, string context)
    {
        var failures = new List<string>();
        var clock = Stopwatch.StartNew();
        using var folder = new TempDirectory("crash");
        var images = Directory.CreateDirectory(Path.Combine(folder.Path, "images")).FullName;
        var chain = CrashChain.Create(images, rng);
        var reference = Path.Combine(folder.Path, "ref.raw");
        QemuTools.ConvertToRaw(chain.D, reference);
        var destination = kind == JobKind.BlockCopy ? Path.Combine(images, "DEST.qcow2") : null;
        var top = destination ?? chain.D;
        var target = Math.Clamp(rng.NextInt64(plan.Min, plan.Max + 1), 1, CrashChain.Size);
        var extraDelay = plan.MaxExtraDelayMs == 0 ? 0 : rng.Next(0, plan.MaxExtraDelayMs + 1);
        context = $"{context[..^1]}, target offset {target}, extra delay {extraDelay} ms]";

        // Run 1: start the job, kill the node once the job passes the target.
        long lastSeen = 0;
        var jobGoneBeforeKill = false;
        var headerWatch = "";
        TimeSpan killAt;
        IReadOnlyList<JsonElement> eventsBefore;
        long lastEventIdBefore;
        var node = await StartNodeAsync(folder.Path);
        var jobClock = new Stopwatch();
        try
        {
            await using var events = await EventRecorder.FollowAsync(node);
            await RegisterAsync(node, chain.D, context);
            jobClock.Start();
            await StartJobAsync(node, kind, chain, context, destination);
            var reached = false;
            var delay = Stopwatch.StartNew();
            while (true)
            {
                var job = await GetJobAsync(node, Disk, context);
                if (job is null)
                {
                    jobGoneBeforeKill = true;
                    break;
                }

                lastSeen = Math.Max(lastSeen, Offset(job.Value));
                if (!reached && lastSeen > 0 && lastSeen >= target)
                {
                    reached = true;
                    delay.Restart();
                }

                if (reached && plan.AtHeaderCommit)
                {
                    var before = HeaderProbe.BackingFile(top);
                    var watched = await Task.Run(() =>
                    {
                        var waited = HeaderProbe.WaitForChange(top, before, JobTimeout, out var changed);
                        node.KillNow();
                        return changed ? waited : (TimeSpan?)null;
                    });
                    headerWatch = watched is { } w
                        ? $"header changed from {before ?? "none"} to {HeaderProbe.BackingFile(top) ?? "none"} after {w.TotalMilliseconds:F0} ms of watching; "
                        : $"header never changed from {before ?? "none"}; ";
                    break;
                }

                if (reached && delay.ElapsedMilliseconds >= extraDelay)
                {
                    break;
                }

                if (jobClock.Elapsed > JobTimeout)
                {
                    throw new TimeoutException($"{context} the job never reached offset {target} (last {lastSeen})\nnode:\n{node.Output}");
                }

                await Task.Delay(3);
            }

            killAt = jobClock.Elapsed;
            await node.KillAsync();
            eventsBefore = events.Events;
            lastEventIdBefore = events.Numbered.Count > 0 ? events.Numbered[^1].Id : 0;
        }
        finally
        {
            await node.DisposeAsync();
        }

        var completedBefore = eventsBefore.Count(e => IsCompleted(e));
        var journal = JournalFacts.Read(Path.Combine(folder.Path, "data", NodePaths.JournalFile), Disk, Disk);
        var headerAtKill = BackingOf(top);

        // Crash consistency of the top as the kill left it: leaks are allowed (exit 3), corruption is not.
        var checkAtKill = QemuTools.Check(top);
        if (checkAtKill.ExitCode is not (0 or 3))
        {
            failures.Add($"{context} qemu-img check of {Path.GetFileName(top)} right after the kill exited {checkAtKill.ExitCode}: {checkAtKill.StdOut}{checkAtKill.StdErr}");
        }

        var leaks = LeakedClusters().Match(checkAtKill.StdOut) is { Success: true } m ? m.Groups[1].Value : "0";
        var commitLanded = kind == JobKind.Stream ? headerAtKill == "A.qcow2" : headerAtKill is null;
        if (lastSeen >= (2 * Checkpoint) + Batch && journal.LastCheckpoint < lastSeen - (2 * Checkpoint) - Batch)
        {
            failures.Add($"{context} the job had scanned {lastSeen} bytes but the journal's last checkpoint is {journal.LastCheckpoint}: checkpoints are not persisted every {Checkpoint} bytes");
        }

        // Run 2: the same data folder; only queries from here on.
        var restart = Stopwatch.StartNew();
        node = await StartNodeAsync(folder.Path);
        var readyIn = restart.Elapsed;
        string firstSeen;
        long? firstOffset = null;
        long? resumedFrom = null;
        TimeSpan completedIn;
        try
        {
            // As a client reconnects: after the last event it saw. Event ids are durable, so this run's stream goes on
            // exactly where the killed one stopped (events journaled just before the kill included).
            await using var events = await EventRecorder.FollowAsync(node, afterId: lastEventIdBefore);
            var first = await GetJobAsync(node, Disk, context);
            var resumed = ResumeLine().Match(node.Output);
            if (resumed.Success)
            {
                resumedFrom = long.Parse(resumed.Groups[2].Value, CultureInfo.InvariantCulture);
                if (resumedFrom != journal.LastCheckpoint)
                {
                    failures.Add($"{context} the node resumed the job from offset {resumedFrom}, not from its last persisted checkpoint {journal.LastCheckpoint}");
                }
            }

            if (first is { } job)
            {
                firstOffset = Offset(job);
                var status = job.GetProperty("status").GetString();
                firstSeen = $"{firstOffset} ({status})";
                if (status != "running")
                {
                    failures.Add($"{context} after the restart the job is '{status}', not running: {job}");
                }

                if (job.GetProperty("speed").GetInt64() != Speed)
                {
                    failures.Add($"{context} after the restart the job's speed is {job.GetProperty("speed").GetInt64()}, not {Speed}");
                }

                if (firstOffset < journal.LastCheckpoint)
                {
                    failures.Add($"{context} the job resumed at offset {firstOffset}, below its last persisted checkpoint {journal.LastCheckpoint} (offset {lastSeen} before the kill)");
                }

                if (journal.LastCheckpoint > 0 && firstOffset == 0)
                {
                    failures.Add($"{context} the job restarted from zero although checkpoint {journal.LastCheckpoint} was persisted (offset {lastSeen} before the kill)");
                }

                if (journal.Finished)
                {
                    failures.Add($"{context} the job had finished before the kill ({journal}) but is live again after the restart: {job}");
                }
            }
            else
            {
                firstSeen = "none (job already gone)";
            }

            await WaitGoneAsync(node, context);
            completedIn = restart.Elapsed;

            // The events trail the journal by a moment; a job that had finished before the kill sends none.
            var dismissed = await events.WaitForAsync(e => EventRecorder.IsDismissed(e, Disk), TimeSpan.FromSeconds(journal.Finished ? 0.5 : 5));
            if (!dismissed && !journal.Finished)
            {
                failures.Add($"{context} the job left /jobs but no JOB_STATUS_CHANGE 'null' arrived on /events within 5 s; events after restart: {events.Summary()}");
            }

            // The pick-up is announced, from the offset the node logged (it comes before the job's end on the stream).
            if (resumedFrom is { } from && !events.Events.Any(e => e.GetProperty("event").GetString() == "JOB_RESUMED"
                && e.GetProperty("data").GetProperty("offset").GetInt64() == from))
            {
                failures.Add($"{context} the node resumed the job from offset {from} but sent no JOB_RESUMED event with that offset; events after restart: {events.Summary()}");
            }

            // Completed exactly once over both runs (an event journaled just before the kill reaches us after the restart).
            var completedAfter = events.Events.Count(e => IsCompleted(e));
            var all = eventsBefore.Concat(events.Events).ToList();
            var bad = all.Where(e => e.GetProperty("event").GetString() is "BLOCK_JOB_CANCELLED" or "BLOCK_JOB_ERROR"
                || (IsCompleted(e) && e.GetProperty("data").TryGetProperty("error", out _))).ToList();
            if (bad.Count > 0)
            {
                failures.Add($"{context} unexpected events: {string.Join(" ", bad)}");
            }

            if (events.Events.Any(e => e.GetProperty("event").GetString() == "JOB_STATUS_CHANGE" && e.GetProperty("data").GetProperty("status").GetString() is "created" or "aborting"))
            {
                failures.Add($"{context} after the restart the job went through 'created' or 'aborting': {events.Summary()}");
            }

            var completions = completedBefore + completedAfter;
            if (completions > 1 || (completions == 0 && !journal.Finished))
            {
                failures.Add($"{context} BLOCK_JOB_COMPLETED seen {completedBefore} time(s) before the kill and {completedAfter} after the restart; "
                    + $"expected exactly once ({journal}); events after restart: {events.Summary()}\nnode:\n{node.Output}");
            }

            foreach (var e in all.Where(IsCompleted))
            {
                var data = e.GetProperty("data");
                if (data.GetProperty("offset").GetInt64() != data.GetProperty("len").GetInt64() || data.GetProperty("type").GetString() != TypeName(kind))
                {
                    failures.Add($"{context} BLOCK_JOB_COMPLETED with offset != len or the wrong type: {e}");
                }
            }

            failures.AddRange(await VerifyFinalStateAsync(node, kind, chain, destination, reference, context));
        }
        finally
        {
            await node.DisposeAsync();
        }

        var line = string.Create(CultureInfo.InvariantCulture,
            $"{context} killed {killAt.TotalMilliseconds:F0} ms after the job started, last offset seen {lastSeen} ({Pct(lastSeen)}){(jobGoneBeforeKill ? ", job already gone" : "")}; "
            + $"{headerWatch}at the kill: {journal}, qemu-img check exit {checkAtKill.ExitCode} ({leaks} leaked clusters), header backing {headerAtKill ?? "none"} ({(commitLanded ? "commit landed" : "before the commit")}), "
            + $"BLOCK_JOB_COMPLETED seen before the kill: {completedBefore}; restart ready in {readyIn.TotalSeconds:F2} s, resumed from {resumedFrom?.ToString(CultureInfo.InvariantCulture) ?? "- (not resumed)"} (node log), first offset seen after restart {firstSeen}, "
            + $"completed {completedIn.TotalSeconds:F2} s after the restart; iteration total {clock.Elapsed.TotalSeconds:F1} s");
        return new Iteration(line, failures);
    }

    /// <summary>The chain on disk and in the node after completion: check 0, same guest view as before, the expected backing chain.</summary>
    private static async Task<List<string>> VerifyFinalStateAsync(NodeProcess node, JobKind kind, CrashChain chain, string? destination, string reference, string context)
    {
        var failures = new List<string>();
        var top = destination ?? chain.D;
        using (var response = await node.Http.GetAsync($"disks/{Disk}"))
        {
            var disk = await Json.BodyAsync(response);
            var actual = disk.GetProperty("chain").EnumerateArray().Select(p => p.GetString()).ToList();
            string[] expected = kind == JobKind.Stream ? [chain.D, chain.A] : [destination!];
            if (!actual.SequenceEqual(expected))
            {
                failures.Add($"{context} the node's chain is [{string.Join(", ", actual)}], expected [{string.Join(", ", expected)}]");
            }

            if (disk.GetProperty("jobs").GetArrayLength() != 0)
            {
                failures.Add($"{context} the disk still lists jobs: {disk.GetProperty("jobs")}");
            }
        }

        var check = QemuTools.Check(top);
        if (check.ExitCode != 0)
        {
            failures.Add($"{context} qemu-img check {Path.GetFileName(top)} exited {check.ExitCode}: {check.StdOut}{check.StdErr}");
        }

        var compare = QemuTools.Compare(top, reference, fmtB: "raw");
        if (compare.ExitCode != 0)
        {
            failures.Add($"{context} qemu-img compare {Path.GetFileName(top)} vs the reference exited {compare.ExitCode}: {compare.StdOut}{compare.StdErr}");
        }

        var info = JsonDocument.Parse(QemuTools.InfoJson(top, backingChain: true)).RootElement.EnumerateArray().ToList();
        var names = info.Select(i => Path.GetFileName(i.GetProperty("filename").GetString()!)).ToList();
        string[] expectedNames = kind == JobKind.Stream ? ["D.qcow2", "A.qcow2"] : ["DEST.qcow2"];
        if (!names.SequenceEqual(expectedNames))
        {
            failures.Add($"{context} qemu-img info --backing-chain shows {string.Join(" -> ", names)}, expected {string.Join(" -> ", expectedNames)}");
        }

        var backing = info[0].TryGetProperty("backing-filename", out var b) ? b.GetString() : null;
        if (backing != (kind == JobKind.Stream ? "A.qcow2" : null))
        {
            failures.Add($"{context} {Path.GetFileName(top)}'s backing file is '{backing ?? "none"}'");
        }

        return failures;
    }

    private static Task<NodeProcess> StartNodeAsync(string root) => NodeProcess.StartAsync(root, ReadyTimeout, NodeArgs);

    private static async Task RegisterAsync(NodeProcess node, string active, string context)
    {
        using var response = await Json.PostAsync(node.Http, "disks", new { id = Disk, path = active });
        Assert.True(response.StatusCode == HttpStatusCode.Created, $"{context} register answered {(int)response.StatusCode}: {await response.Content.ReadAsStringAsync()}");
    }

    private static async Task StartJobAsync(NodeProcess node, JobKind kind, CrashChain chain, string context, string? destination = null)
    {
        using var response = kind == JobKind.Stream
            ? await Json.PostAsync(node.Http, $"disks/{Disk}/stream", new { @base = Path.GetFileName(chain.A), speed = Speed })
            : await Json.PostAsync(node.Http, $"disks/{Disk}/block-copy", new { destination, speed = Speed });
        Assert.True(response.StatusCode == HttpStatusCode.Created, $"{context} starting the {kind} answered {(int)response.StatusCode}: {await response.Content.ReadAsStringAsync()}");
    }

    private static async Task<JsonElement?> GetJobAsync(NodeProcess node, string id, string context)
    {
        using var response = await node.Http.GetAsync($"jobs/{id}");
        if (response.StatusCode == HttpStatusCode.NotFound)
        {
            return null;
        }

        Assert.True(response.IsSuccessStatusCode, $"{context} GET /jobs/{id} answered {(int)response.StatusCode}: {await response.Content.ReadAsStringAsync()}");
        return await Json.BodyAsync(response);
    }

    private static async Task<JsonElement> PollJobAsync(NodeProcess node, Func<JsonElement?, bool> condition, TimeSpan interval, string context)
    {
        var clock = Stopwatch.StartNew();
        JsonElement? job = null;
        while (clock.Elapsed < JobTimeout)
        {
            job = await GetJobAsync(node, Disk, context);
            if (condition(job))
            {
                return job ?? default;
            }

            await Task.Delay(interval);
        }

        throw new TimeoutException($"{context} the job did not reach the expected state within {JobTimeout.TotalSeconds} s (last: {job?.ToString() ?? "gone"})\nnode:\n{node.Output}");
    }

    private static async Task<long> StableOffsetAsync(NodeProcess node, string context)
    {
        long? previous = null;
        for (var i = 0; i < 100; i++)
        {
            await Task.Delay(250);
            var job = await GetJobAsync(node, Disk, context) ?? throw new InvalidOperationException($"{context} the job vanished while paused");
            if (previous == Offset(job))
            {
                return previous.Value;
            }

            previous = Offset(job);
        }

        throw new TimeoutException($"{context} the paused job's offset never settled (last {previous})");
    }

    /// <summary>Waits until the job is gone from /jobs (auto-dismiss after completion); fails fast if it ends otherwise.</summary>
    private static async Task WaitGoneAsync(NodeProcess node, string context) =>
        await PollJobAsync(node, j => j is not { } job || EndedWell(job, context), TimeSpan.FromMilliseconds(20), context);

    /// <summary>False while the job runs; true once it concluded without error; throws when it failed or is aborting.</summary>
    private static bool EndedWell(JsonElement job, string context)
    {
        var status = job.GetProperty("status").GetString();
        if (status == "aborting" || (status == "concluded" && job.TryGetProperty("error", out _)))
        {
            throw new InvalidOperationException($"{context} the job ended without completing: {job}");
        }

        return status == "concluded";
    }

    private static bool IsCompleted(JsonElement e) =>
        e.GetProperty("event").GetString() == "BLOCK_JOB_COMPLETED" && e.GetProperty("data").GetProperty("device").GetString() == Disk;

    private static string? BackingOf(string image)
    {
        var info = JsonDocument.Parse(QemuTools.InfoJson(image, backingChain: false)).RootElement;
        return info.TryGetProperty("backing-filename", out var b) ? b.GetString() : null;
    }

    [GeneratedRegex(@"resuming job vm \((\w+)\) from offset (\d+)")]
    private static partial Regex ResumeLine();

    [GeneratedRegex(@"(\d+) leaked clusters were found")]
    private static partial Regex LeakedClusters();

    private static string FirstLine(string text) => text.Split('\n')[0];

    /// <summary>An exception that carries a node's output, cut to what tells the story: the first line and the node's errors.</summary>
    private static string Digest(Exception e)
    {
        var lines = e.Message.Split('\n');
        var errors = lines.Skip(1).Where(l => l.Contains(" fail: ", StringComparison.Ordinal) || l.Contains("[ERROR]", StringComparison.Ordinal))
            .Select(l => l.Length > 700 ? l[..700] + " ..." : l).Distinct().Take(6).ToList();
        var where = e.StackTrace?.Split('\n').FirstOrDefault(l => l.Contains("NodeCrashTests", StringComparison.Ordinal))?.Trim();
        return $"{e.GetType().Name}: {lines[0]}{(errors.Count > 0 ? "\n  node errors:\n    " + string.Join("\n    ", errors) : "")}\n  {where}";
    }

    private static long Offset(JsonElement job) => job.GetProperty("offset").GetInt64();

    private static string Pct(long offset) => string.Create(CultureInfo.InvariantCulture, $"{100.0 * offset / CrashChain.Size:F1} %");

    private static string TypeName(JobKind kind) => kind == JobKind.Stream ? "stream" : "block-copy";

    private int Seed()
    {
        var text = Environment.GetEnvironmentVariable("ORCH_TEST_SEED");
        var seed = int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var fixedSeed) ? fixedSeed : Random.Shared.Next();
        output.WriteLine($"ORCH_TEST_SEED={seed}{(text is null ? " (random)" : " (from the environment)")}");
        return seed;
    }
}
