using System.Globalization;
using Orchestrator.Testing;

namespace Orchestrator.Node.Tests;

/// <summary>The steps the crash tests with a guest share: restart after a kill, and the checks at the end.</summary>
public sealed partial class NodeCrashTests
{
    /// <summary>
    /// A guest crash test's start: its seed, the chain and the guest-visible reference, a ledger of
    /// <paramref name="ledgerBlock"/>-byte blocks, one kill target in each of [5 %, 30 %), [35 %, 60 %) and
    /// [65 %, 90 %) of the job, and a node streaming D onto A. The caller owns (disposes) the folder and the node.
    /// </summary>
    private async Task<GuestCrashStart> StartGuestCrashAsync(string label, int ledgerBlock)
    {
        var seed = Seed();
        var rng = new Random(seed);
        var folder = new TempDirectory($"crash-{label}");
        var images = Directory.CreateDirectory(Path.Combine(folder.Path, "images")).FullName;
        var chain = CrashChain.Create(images, rng);
        var reference = Path.Combine(folder.Path, "ref.raw");
        QemuTools.ConvertToRaw(chain.D, reference);
        var ledger = new ClusterLedger(File.ReadAllBytes(reference), ledgerBlock);
        var uri = $"nbd+unix:///{Disk}?socket={Path.Combine(folder.Path, "data", NodePaths.NbdSocketFile)}";
        var len = CrashChain.Size;
        long[] targets = [.. Enumerable.Range(0, 3).Select(i => rng.NextInt64(len * (5 + (30 * i)) / 100, len * (30 + (30 * i)) / 100))];
        var context = $"[seed {seed}, {label} guest, kills at offsets {string.Join(", ", targets)}]";
        output.WriteLine($"{context} chain: {chain.Layout}");

        var node = await StartNodeAsync(folder.Path);
        try
        {
            await RegisterAsync(node, chain.D, context);
            await StartJobAsync(node, JobKind.Stream, chain, context);
        }
        catch
        {
            // No node process may outlive a test that failed to start.
            await node.DisposeAsync();
            throw;
        }

        return new GuestCrashStart(seed, rng, folder, chain, ledger, uri, targets, context, node);
    }

    /// <summary>
    /// After a kill: qemu-img check (leaks allowed), what the journal held, a new node, and whether the job resumed by
    /// itself from its last checkpoint. Returns the new node and a line for the log.
    /// </summary>
    private static async Task<(NodeProcess Node, string Line)> RestartAfterKillAsync(NodeProcess node, string root, CrashChain chain, int kill,
        List<string> failures, string context)
    {
        await node.DisposeAsync();
        // The commit point is D's header: once it backs onto A the restarted node finishes the job at once (and may
        // dismiss it before the first query), whether or not the journal recorded the end before the kill.
        var committed = BackingOf(chain.D) == "A.qcow2";
        var check = QemuTools.Check(chain.D);
        if (check.ExitCode is not (0 or 3))
        {
            failures.Add($"{context} qemu-img check after kill {kill} exited {check.ExitCode}: {check.StdOut}{check.StdErr}");
        }

        var journal = JournalFacts.Read(Path.Combine(root, "data", NodePaths.JournalFile), Disk, Disk);
        var next = await StartNodeAsync(root);
        var resumed = await GetJobAsync(next, Disk, context);

        // Near the end, the resumed job may complete (and be dismissed) before the first query: its commit is then in
        // D's header, and the final checks verify the content.
        var completedSince = resumed is null && BackingOf(chain.D) == "A.qcow2";
        if (!journal.Finished && !committed && !completedSince
            && (resumed is not { } r || r.GetProperty("status").GetString() != "running" || Offset(r) < journal.LastCheckpoint))
        {
            failures.Add($"{context} after kill {kill} the job did not resume by itself from its checkpoint ({journal}): {resumed?.ToString() ?? "gone"}");
        }

        var line = string.Create(CultureInfo.InvariantCulture,
            $"check exit {check.ExitCode}; {journal}; header {(committed ? "committed" : "not committed")}; after restart {(resumed is { } j ? $"{j.GetProperty("status").GetString()} at {Offset(j)}" : completedSince ? "no job: it resumed and completed" : "no job")}");
        return (next, line);
    }

    /// <summary>The node's view at the end of a guest crash test: the chain is [D, A].</summary>
    private static async Task CheckNodeChainAsync(NodeProcess node, CrashChain chain, List<string> failures, string context)
    {
        using var response = await node.Http.GetAsync($"disks/{Disk}");
        var nodeChain = (await Json.BodyAsync(response)).GetProperty("chain").EnumerateArray().Select(p => p.GetString()).ToList();
        if (!nodeChain.SequenceEqual([chain.D, chain.A]))
        {
            failures.Add($"{context} the node's chain is [{string.Join(", ", nodeChain)}], expected [D, A]");
        }
    }

    /// <summary>
    /// After the node's clean stop: qemu-img check clean, D backs onto A, and every cluster of D holds one of the
    /// contents the guest's ledger allows. Returns how many clusters do not.
    /// </summary>
    private static int CheckFinalImage(string root, CrashChain chain, ClusterLedger ledger, List<string> failures, string context)
    {
        var final = QemuTools.Check(chain.D);
        if (final.ExitCode != 0)
        {
            failures.Add($"{context} qemu-img check after the clean stop exited {final.ExitCode}: {final.StdOut}{final.StdErr}");
        }

        if (BackingOf(chain.D) != "A.qcow2")
        {
            failures.Add($"{context} D's backing file is '{BackingOf(chain.D) ?? "none"}', expected A.qcow2");
        }

        var content = Path.Combine(root, "final.raw");
        QemuTools.ConvertToRaw(chain.D, content);
        var mismatches = ledger.Mismatches(File.ReadAllBytes(content));
        failures.AddRange(mismatches.Take(20).Select(m => $"{context} {m}"));
        return mismatches.Count;
    }

    private sealed record GuestCrashStart(int Seed, Random Rng, TempDirectory Folder, CrashChain Chain, ClusterLedger Ledger, string Uri,
        long[] Targets, string Context, NodeProcess Node);
}
