using System.Diagnostics;
using Orchestrator.Testing;

namespace Orchestrator.Node.Tests;

/// <summary>The same crash recovery with the journal and snapshots in PostgreSQL (--journal postgres:...), as a cluster runs.</summary>
public sealed partial class NodeCrashTests
{
    [Fact]
    public async Task Stream_on_a_PostgreSQL_journal_killed_midway_resumes_from_its_checkpoint_and_completes()
    {
        var seed = Seed();
        var rng = new Random(seed);
        var context = $"[seed {seed}, PostgreSQL journal]";
        using var database = new PostgresTestDatabase("node");
        using var folder = new TempDirectory("crash-pg");
        var images = Directory.CreateDirectory(Path.Combine(folder.Path, "images")).FullName;
        var chain = CrashChain.Create(images, rng);
        var reference = Path.Combine(folder.Path, "ref.raw");
        QemuTools.ConvertToRaw(chain.D, reference);
        // A fresh database's schema is created at the first start, and the tests share two cores: more patience than for SQLite.
        string[] args = [.. NodeArgs, "--request-timeout", "20", "--journal", $"postgres:{database.ConnectionString}"];
        var readyTimeout = TimeSpan.FromSeconds(90);

        var node = await NodeProcess.StartAsync(folder.Path, readyTimeout, args);
        long killedAt;
        try
        {
            await RegisterAsync(node, chain.D, context);
            await StartJobAsync(node, JobKind.Stream, chain, context);
            var target = (CrashChain.Size * 3 / 10) + rng.NextInt64(0, CrashChain.Size / 5);
            killedAt = Offset(await PollJobAsync(node, j => j is { } job && Offset(job) >= target, TimeSpan.FromMilliseconds(5), context));
            await node.KillAsync();
        }
        finally
        {
            await node.DisposeAsync();
        }

        // Every checkpoint went to PostgreSQL, none to a local file.
        var checkpoints = Convert.ToInt64(database.Scalar($"SELECT count(*) FROM journal WHERE persistence_id = 'disk-{Disk}'"), System.Globalization.CultureInfo.InvariantCulture);
        Assert.True(checkpoints >= 2, $"{context} the PostgreSQL journal holds {checkpoints} events of disk-{Disk}");
        Assert.False(File.Exists(Path.Combine(folder.Path, "data", NodePaths.JournalFile)), $"{context} a SQLite journal was written although --journal names PostgreSQL");

        var clock = Stopwatch.StartNew();
        node = await NodeProcess.StartAsync(folder.Path, readyTimeout, args);
        try
        {
            var resumed = await GetJobAsync(node, Disk, context) ?? throw new InvalidOperationException($"{context} the job is gone after the restart\nnode:\n{node.Output}");
            var offset = Offset(resumed);
            output.WriteLine($"{context} killed at offset {killedAt} ({Pct(killedAt)}), {checkpoints} events in PostgreSQL; resumed at {offset} after {clock.Elapsed.TotalSeconds:F2} s");
            Assert.True(offset > 0 && offset >= killedAt - Checkpoint - Batch,
                $"{context} resumed at {offset}, more than a checkpoint ({Checkpoint}) and a batch before the kill at {killedAt}");
            await WaitGoneAsync(node, context);
            var failures = await VerifyFinalStateAsync(node, JobKind.Stream, chain, null, reference, context);
            Assert.True(failures.Count == 0, string.Join("\n", failures));
        }
        finally
        {
            await node.DisposeAsync();
        }
    }
}
