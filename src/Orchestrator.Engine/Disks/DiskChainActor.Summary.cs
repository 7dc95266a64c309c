using Akka.Actor;
using Orchestrator.Domain.Disks;
using Orchestrator.Engine.Disks;

// A partial of the disk entity: same namespace as its other parts.
namespace Orchestrator.Engine;

public sealed partial class DiskChainActor
{
    // The guest writes between scans; after it has been quiet this long, the allocation summary is scanned again.
    private static readonly TimeSpan SummaryInterval = TimeSpan.FromSeconds(2);
    private IReadOnlyList<DiskReplies.ImageSummary> _images = [];
    private bool _summaryRunning;
    private bool _summaryDirty;
    private readonly List<IActorRef> _pendingShows = [];

    /// <summary>
    /// What <c>disk show</c> reports per image, as of the last scan: the scan (every cluster's allocation) runs on a
    /// task after the chain opens or changes, after a job ends, and after guest writes settle, never per request.
    /// </summary>
    private List<DiskReplies.ImageSummary> ImagesFor(IReadOnlyList<string> chain) =>
        [.. chain.Select(path => _images.FirstOrDefault(i => i.Path == path) ?? new DiskReplies.ImageSummary(path, _live?.VirtualSize ?? 0, 0, 0, null))];

    private void CommandSummaryMessages()
    {
        Command<SummaryScanned>(m =>
        {
            _summaryRunning = false;
            if (ReferenceEquals(m.Live, _live))
            {
                _images = m.Images;
            }

            if (_summaryDirty)
            {
                RefreshSummary();
            }
            else
            {
                AnswerPendingShows();
            }
        });
        Command<EngineMessages.Summarize>(_ => Sender.Tell(_state.Registered ? Describe() : new DiskReplies.Refused(NotOpen())));
        Command<SummaryTick>(tick =>
        {
            if (ReferenceEquals(tick, SummaryTick.Now))
            {
                RefreshSummary();
            }
            else if (_live is not null && _live.GuestActiveWithin(SummaryInterval * 2) && !_live.GuestActiveWithin(TimeSpan.FromMilliseconds(200)))
            {
                RefreshSummary();
            }
        });
    }

    /// <summary>From a persist callback: the scan starts once the batch's callbacks (and their events) are done.</summary>
    private void RefreshSummarySoon() => Self.Tell(SummaryTick.Now);

    private void RefreshSummary()
    {
        if (_live is not { } live)
        {
            return;
        }

        if (_summaryRunning)
        {
            _summaryDirty = true;
            return;
        }

        _summaryRunning = true;
        _summaryDirty = false;
        OffThread(() => Scan(live)).PipeTo(Self, success: images => new SummaryScanned(live, images),
            failure: _ => new SummaryScanned(live, _images));
    }

    private void ClearSummary()
    {
        Timers.Cancel("summary");
        _images = [];
        AnswerPendingShows();
    }

    // How long the scan holds the metadata lock at a time: a guest request waiting for it waits at most about this.
    private static readonly TimeSpan ScanSlice = TimeSpan.FromMilliseconds(1);

    private static IReadOnlyList<DiskReplies.ImageSummary> Scan(LiveDisk live) => AllocationSummary.OfLive(live, ScanSlice);

    /// <summary><c>disk show</c>: while a scan runs, the answer waits for it, so it shows what was just written.</summary>
    private void ShowWhenScanned()
    {
        if (_summaryRunning)
        {
            _pendingShows.Add(Sender);
            return;
        }

        Sender.Tell(Describe());
    }

    private void AnswerPendingShows()
    {
        foreach (var asker in _pendingShows)
        {
            asker.Tell(Describe());
        }

        _pendingShows.Clear();
    }

    private sealed record SummaryScanned(LiveDisk Live, IReadOnlyList<DiskReplies.ImageSummary> Images);

    private sealed class SummaryTick
    {
        public static readonly SummaryTick Instance = new();

        /// <summary>Scan now (the chain changed or a job ended), not only if the guest wrote.</summary>
        public static readonly SummaryTick Now = new();
    }
}
