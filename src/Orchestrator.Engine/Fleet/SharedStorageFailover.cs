using Akka.Actor;
using Akka.Cluster;
using Akka.Cluster.Sharding;
using Akka.Event;
using Orchestrator.Domain;
using Orchestrator.Domain.Disks;
using Orchestrator.Engine.Cluster;
using Orchestrator.Engine.Disks;
using Orchestrator.Qcow2;

namespace Orchestrator.Engine.Fleet;

/// <summary>
/// Moves the disks of a downed host that lie on shared storage to this host, when <see cref="FailoverPlan"/> picks it.
/// Only a host the split-brain resolver downed counts (a member removed after Down, not one that left on a clean
/// stop: its jobs were held at a checkpoint and wait for it). Then, in this order:
/// <list type="number">
/// <item>the fencing margin passes: the downed side downs itself after the same stable-after, and its shutdown closes
/// its images within the shard hand-off's timeout;</item>
/// <item>the downed host's registry is read from the journal, and the plan made;</item>
/// <item>this host's registry records each disk (with its images and jobs) as its own;</item>
/// <item>the downed host's registry records each as moved, so it does not start them when it returns;</item>
/// <item>the fleet directory points the disks here;</item>
/// <item>each disk waits until no other process holds its images' locks (QEMU's, which NFSv4 and cluster file systems
/// carry between hosts), then its entity starts here: it replays its journal and resumes its jobs from their last
/// checkpoint.</item>
/// </list>
/// </summary>
public sealed class SharedStorageFailover : ReceiveActor, IWithTimers
{
    private static readonly TimeSpan AskTimeout = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan LockPoll = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan LockWarnEvery = TimeSpan.FromSeconds(30);

    // A StartEntity can meet a shard coordinator that has not yet dropped the downed host's region; it is sent again
    // until the disk is open here.
    private static readonly TimeSpan StartRetry = TimeSpan.FromSeconds(2);
    private const int StartAttempts = 60;

    private readonly string _self;
    private readonly EngineSettings _settings;
    private readonly IActorRef _registry;
    private readonly IActorRef _diskRegion;
    private readonly DiskDirectory _directory;
    private readonly TimeSpan _margin;
    private readonly Akka.Cluster.Cluster _cluster = Akka.Cluster.Cluster.Get(Context.System);
    private readonly LocalDisks _open = EngineLocal.Of(Context.System).Disks;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private int _takeovers;

    public SharedStorageFailover(string self, EngineSettings settings, IActorRef registry, IActorRef diskRegion, TimeSpan margin)
    {
        _self = self;
        _settings = settings;
        _registry = registry;
        _diskRegion = diskRegion;
        _margin = margin;
        _directory = new DiskDirectory(Context.System);
        Receive<ClusterEvent.MemberRemoved>(OnRemoved);
        Receive<TakeOver>(t => StartTakeover(t.Host));
        ReceiveAsync<HostRegistryTakeover.Recovered>(Adopt);
        Receive<StartDisk>(Start);
    }

    public ITimerScheduler Timers { get; set; } = null!;

    /// <param name="margin">How long after the downed host's removal its disks wait before they move.</param>
    public static Props Props(string self, EngineSettings settings, IActorRef registry, IActorRef diskRegion, TimeSpan margin) =>
        Akka.Actor.Props.Create(() => new SharedStorageFailover(self, settings, registry, diskRegion, margin));

    protected override void PreStart() => _cluster.Subscribe(Self, ClusterEvent.SubscriptionInitialStateMode.InitialStateAsEvents, typeof(ClusterEvent.MemberRemoved));

    protected override void PostStop() => _cluster.Unsubscribe(Self);

    private void OnRemoved(ClusterEvent.MemberRemoved removed)
    {
        var host = SharedRoots.NodeNameOf(removed.Member.Roles);
        if (host is null || host == _self || removed.PreviousStatus != MemberStatus.Down || SharedRoots.Of(removed.Member.Roles).Count == 0)
        {
            return;
        }

        _log.Info("host {0} was downed; its disks on shared storage move after {1} s unless it is back by then", host, _margin.TotalSeconds);
        Timers.StartSingleTimer("takeover-" + host, new TakeOver(host), _margin);
    }

    private void StartTakeover(string host)
    {
        if (HostPlacement.StatusOf(host, MemberView.Of(_cluster.State)) != HostStatus.Absent)
        {
            _log.Info("host {0} is a member again; its disks stay with it", host);
            return;
        }

        Context.ActorOf(HostRegistryTakeover.Props(host, Self), $"takeover-{host}-{++_takeovers}");
    }

    private async Task Adopt(HostRegistryTakeover.Recovered recovered)
    {
        var reader = Sender;
        var host = recovered.Host;
        var plan = FailoverPlan.For(recovered.State, host, _self, MemberView.Of(_cluster.State));
        if (plan.Count == 0 || HostPlacement.StatusOf(host, MemberView.Of(_cluster.State)) != HostStatus.Absent)
        {
            reader.Tell(PoisonPill.Instance);
            return;
        }

        var disks = plan.Select(t => t.Disk.Disk).ToList();
        try
        {
            foreach (var takeover in plan)
            {
                var images = takeover.Disk.Images;
                var answer = await _registry.Ask<object>(new RegistryCommands.Sync(new DiskId(takeover.Disk.Disk), images, [.. takeover.Jobs.Select(j => new JobId(j))]), AskTimeout);
                if (answer is DiskReplies.Refused refused)
                {
                    throw new InvalidOperationException($"this host's registry refused disk '{takeover.Disk.Disk}': {refused.Error.Message}");
                }
            }

            var moved = await reader.Ask<HostRegistryTakeover.MovedAway>(new HostRegistryTakeover.MoveAway(disks, _self), AskTimeout);
            await _directory.PublishAsync(moved.Disks, _self);
            _log.Warning("host {0} was downed: disk(s) {1} on shared storage moved to this host ({2}); their jobs resume from their last checkpoint",
                host, string.Join(", ", moved.Disks), _self);
            foreach (var takeover in plan.Where(t => moved.Disks.Contains(t.Disk.Disk)))
            {
                Self.Tell(new StartDisk(takeover.Disk.Disk, [.. takeover.Disk.Images.Where(i => i.Writable).Select(i => i.Path)], 0, DateTime.UtcNow));
            }
        }
        catch (Exception e)
        {
            // Nothing moved, or the moved disks wait for an operator: this host's registry may hold them while their
            // host's still does too; whichever opens second finds the images locked.
            _log.Error(e, "taking over disk(s) {0} of the downed host {1} failed: {2}", string.Join(", ", disks), host, e.GetBaseException().Message);
            reader.Tell(PoisonPill.Instance);
        }
    }

    /// <summary>Starts the disk's entity here once its images are free, and again until it is open.</summary>
    private void Start(StartDisk start)
    {
        var disk = new DiskId(start.Disk);
        if (_open.Find(disk) is not null || start.Attempt >= StartAttempts)
        {
            return;
        }

        if (start.Attempt == 0 && LockHolder(start.WritableImages) is { } locked)
        {
            if (DateTime.UtcNow - start.WaitingSince >= LockWarnEvery)
            {
                _log.Warning("disk {0} waits to move here: {1}", start.Disk, locked);
                start = start with { WaitingSince = DateTime.UtcNow };
            }

            Timers.StartSingleTimer("start-" + start.Disk, start, LockPoll);
            return;
        }

        _diskRegion.Tell(new ShardRegion.StartEntity(start.Disk), ActorRefs.NoSender);
        Timers.StartSingleTimer("start-" + start.Disk, start with { Attempt = start.Attempt + 1 }, StartRetry);
    }

    /// <summary>Why an image is still held by another process (the downed host's, not yet stopped), or null when none is.</summary>
    private string? LockHolder(IReadOnlyList<string> images)
    {
        foreach (var path in images)
        {
            try
            {
                using var image = Qcow2Image.Open(path, Storage.ImageOpening.ReadOnlyImage(_settings));
            }
            catch (Qcow2Exception e) when (e.Kind == Qcow2ErrorKind.Locked)
            {
                return $"'{path}': {e.Message}";
            }
            catch (Exception)
            {
                // Missing or unreadable: the disk's own recovery says so (it is quarantined with the reason).
            }
        }

        return null;
    }

    private sealed record TakeOver(string Host);

    private sealed record StartDisk(string Disk, IReadOnlyList<string> WritableImages, int Attempt, DateTime WaitingSince);
}
