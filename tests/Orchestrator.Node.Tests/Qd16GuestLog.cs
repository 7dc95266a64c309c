using System.Globalization;

namespace Orchestrator.Node.Tests;

/// <summary>
/// One life of a <see cref="Qd16Guest"/>, replayed into a <see cref="ClusterLedger"/> of 4 KiB blocks: every write
/// sent may have landed; an acknowledged flush pins each block to the last write acknowledged before the flush was
/// sent (NBD's flush covers the writes completed before it), and a later write to that block may have landed too.
/// </summary>
internal sealed record Qd16GuestLog(bool Connected, int Sent, int Acknowledged, int FlushesAcknowledged, string? Error)
{
    public override string ToString() =>
        $"{Sent} writes sent, {Acknowledged} acknowledged, {FlushesAcknowledged} flushes acknowledged{(Error is null ? "" : $", ended with '{Error}'")}";

    public static Qd16GuestLog Replay(string stdout, ClusterLedger ledger)
    {
        var writes = new Dictionary<int, GuestWrite>();
        var laterWrites = new Dictionary<long, List<int>>();
        var acks = new List<int>();
        var coveredAtSend = new Dictionary<int, int>();
        var pinnedUpTo = 0;
        var connected = false;
        var flushes = 0;
        string? error = null;
        foreach (var line in stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            var f = line.Split(' ');
            switch (f[0])
            {
                case "C":
                    connected = true;
                    break;
                case "I":
                    var id = Int(f[1]);
                    var write = new GuestWrite(long.Parse(f[2], CultureInfo.InvariantCulture), Qd16Guest.BlockSize, (byte)Int(f[3]));
                    writes[id] = write;
                    ledger.Issue(write);
                    if (!laterWrites.TryGetValue(write.Offset, out var ids))
                    {
                        laterWrites[write.Offset] = ids = [];
                    }

                    ids.Add(id);
                    break;
                case "A":
                    acks.Add(Int(f[1]));
                    break;
                case "S":
                    coveredAtSend[Int(f[1])] = acks.Count;
                    break;
                case "F":
                    var upTo = coveredAtSend[Int(f[1])];
                    Pin(acks.GetRange(pinnedUpTo, upTo - pinnedUpTo), writes, laterWrites, ledger);
                    pinnedUpTo = upTo;
                    flushes++;
                    break;
                case "E":
                    error = line[2..];
                    break;
                default:
                    throw new FormatException($"the guest printed an unexpected line: '{line}'");
            }
        }

        return new Qd16GuestLog(connected, writes.Count, acks.Count, flushes, error);
    }

    /// <summary>
    /// The guest never has two writes in flight on one block, so per block the last acknowledged is the last sent
    /// among those the flush covers; writes sent after it (up to now) may have landed as well.
    /// </summary>
    private static void Pin(List<int> covered, Dictionary<int, GuestWrite> writes, Dictionary<long, List<int>> laterWrites, ClusterLedger ledger)
    {
        foreach (var last in covered.GroupBy(id => writes[id].Offset).Select(g => g.Max()))
        {
            var write = writes[last];
            ledger.Acknowledge([write]);
            foreach (var later in laterWrites[write.Offset].Where(id => id > last))
            {
                ledger.Allow(writes[later]);
            }
        }
    }

    private static int Int(string text) => int.Parse(text, CultureInfo.InvariantCulture);
}
