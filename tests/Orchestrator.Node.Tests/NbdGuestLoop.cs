namespace Orchestrator.Node.Tests;

/// <summary>
/// A guest writing through NBD in the background while a node lives: flush groups of 1-4 whole-cluster writes, one
/// qemu-io each, every write entered in the ledger before it is sent and every acknowledged flush after. A group that
/// fails while the node is meant to be alive is a failure; once <see cref="NodeDying"/> was called, a failed group
/// ends the loop (the node is being killed under it).
/// </summary>
internal sealed class NbdGuestLoop : IAsyncDisposable
{
    private readonly NbdGuest _guest;
    private readonly ClusterLedger _ledger;
    private readonly Random _rng;
    private readonly int _clusterSize;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;
    private volatile bool _dying;

    private NbdGuestLoop(NbdGuest guest, ClusterLedger ledger, Random rng, int clusterSize)
    {
        _guest = guest;
        _ledger = ledger;
        _rng = rng;
        _clusterSize = clusterSize;
        _loop = Task.Run(RunAsync);
    }

    public int Groups { get; private set; }

    public int Acknowledged { get; private set; }

    public List<string> Failures { get; } = [];

    public static NbdGuestLoop Start(NbdGuest guest, ClusterLedger ledger, Random rng, int clusterSize) => new(guest, ledger, rng, clusterSize);

    /// <summary>From now on a failed group is expected: the node is about to be killed.</summary>
    public void NodeDying() => _dying = true;

    /// <summary>Lets the group in progress finish (or fail, if the node died) and stops.</summary>
    public async Task StopAsync()
    {
        await _stop.CancelAsync();
        await _loop;
    }

    /// <summary>Waits until at least <paramref name="count"/> groups were acknowledged in this loop (or it ended).</summary>
    public async Task WaitForAcknowledgedAsync(int count, TimeSpan timeout)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (Acknowledged < count && !_loop.IsCompleted && clock.Elapsed < timeout)
        {
            await Task.Delay(20);
        }
    }

    private async Task RunAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            var writes = _guest.ClusterWrites(_rng.Next(1, 5), _clusterSize);
            writes.ForEach(_ledger.Issue);
            Groups++;
            var (flushed, result) = await _guest.WriteAndFlushAsync(writes);
            if (flushed)
            {
                _ledger.Acknowledge(writes);
                Acknowledged++;
                continue;
            }

            if (!_dying)
            {
                Failures.Add($"a guest write group failed while the node was up: {result.CommandLine}\n{result.StdOut}{result.StdErr}");
            }

            return;
        }
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        _stop.Dispose();
    }
}
