namespace Orchestrator.Engine.GuestIo;

/// <summary>
/// Locks byte ranges of a disk, rounded out to whole clusters: shared for reads, exclusive for writes. Requests on
/// different clusters run at once; overlapping ones where either writes take turns in arrival order (a request waits
/// behind an earlier waiting one it conflicts with, so a stream of reads cannot starve a write).
/// </summary>
internal sealed class ClusterRangeLock
{
    private readonly object _monitor = new();
    private readonly List<Holder> _held = [];
    private readonly List<Holder> _waiting = [];

    /// <summary>Takes [<paramref name="offset"/>, +<paramref name="length"/>) rounded to <paramref name="clusterSize"/>; held until disposed.</summary>
    public Scope Enter(long offset, long length, int clusterSize, bool exclusive)
    {
        var mask = (long)clusterSize - 1;
        var me = new Holder(offset & ~mask, (offset + Math.Max(length, 1) + mask) & ~mask, exclusive);
        lock (_monitor)
        {
            if (_waiting.Count == 0 && !ConflictsWithAny(me, _held, _held.Count))
            {
                _held.Add(me);
                return new Scope(this, me);
            }

            _waiting.Add(me);
            while (!me.Granted)
            {
                Monitor.Wait(_monitor);
            }
        }

        return new Scope(this, me);
    }

    private void Exit(Holder holder)
    {
        lock (_monitor)
        {
            _held.Remove(holder);
            var granted = false;
            for (var i = 0; i < _waiting.Count; i++)
            {
                var waiter = _waiting[i];
                if (!ConflictsWithAny(waiter, _held, _held.Count) && !ConflictsWithAny(waiter, _waiting, i))
                {
                    waiter.Granted = true;
                    _held.Add(waiter);
                    _waiting.RemoveAt(i);
                    i--;
                    granted = true;
                }
            }

            if (granted)
            {
                Monitor.PulseAll(_monitor);
            }
        }
    }

    private static bool ConflictsWithAny(Holder me, List<Holder> others, int count)
    {
        for (var i = 0; i < count; i++)
        {
            var other = others[i];
            if (other.Start < me.End && me.Start < other.End && (other.Exclusive || me.Exclusive))
            {
                return true;
            }
        }

        return false;
    }

    internal sealed class Holder(long start, long end, bool exclusive)
    {
        public long Start { get; } = start;

        public long End { get; } = end;

        public bool Exclusive { get; } = exclusive;

        public bool Granted { get; set; }
    }

    public readonly struct Scope : IDisposable
    {
        private readonly ClusterRangeLock _owner;
        private readonly Holder _holder;

        internal Scope(ClusterRangeLock owner, Holder holder)
        {
            _owner = owner;
            _holder = holder;
        }

        public void Dispose() => _owner.Exit(_holder);
    }
}
