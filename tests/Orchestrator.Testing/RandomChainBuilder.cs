using System.Globalization;
using System.Text;

namespace Orchestrator.Testing;

/// <summary>
/// Builds a random but reproducible qcow2 backing chain with the real qemu-img and qemu-io.
/// The same seed and <see cref="ChainSpec"/> always produce the same guest content and layout
/// (byte-identical image files when backing names are relative).
/// </summary>
public sealed class RandomChainBuilder
{
    /// <summary>Environment variable that <see cref="ChooseSeed"/> honours to replay a failing run.</summary>
    public const string SeedVariable = "ORCH_TEST_SEED";

    private const int Sector = 512;

    // 131 sectors: an odd length, so the repeating file content never lines up with
    // cluster boundaries and a cluster read from the wrong place shows up as a difference.
    private const int PatternFileLength = 131 * Sector;
    private const int RandomPatternFiles = 4;
    private const int CompressiblePatternFiles = 4;

    private readonly Action<string> _log;

    public RandomChainBuilder(int seed, Action<string> log)
    {
        Seed = seed;
        _log = log;
    }

    public int Seed { get; }

    /// <summary>The seed from <c>ORCH_TEST_SEED</c> if set, otherwise a fresh random one.</summary>
    public static int ChooseSeed()
    {
        var text = Environment.GetEnvironmentVariable(SeedVariable);
        if (string.IsNullOrWhiteSpace(text))
        {
            return Random.Shared.Next();
        }

        return int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var seed)
            ? seed
            : throw new InvalidOperationException($"{SeedVariable}='{text}' is not a 32-bit integer");
    }

    /// <summary>
    /// Creates <see cref="ChainSpec.Layers"/> images named A.qcow2, B.qcow2, ... in <paramref name="directory"/>
    /// (created if missing), fills each with random qemu-io writes, and returns them bottom first.
    /// </summary>
    public BuiltChain Build(string directory, ChainSpec spec)
    {
        spec.Validate();
        var dir = Path.GetFullPath(directory);
        Directory.CreateDirectory(dir);
        _log($"RandomChainBuilder: seed={Seed} ({SeedVariable}={Seed} replays it via {nameof(ChooseSeed)}) {spec} in {dir}");

        // A fresh generator per build keeps a chain independent of earlier builds with this builder.
        var rng = new Random(Seed);
        var paths = new List<string>();
        for (var i = 0; i < spec.Layers; i++)
        {
            var name = LayerName(i);
            try
            {
                BuildLayer(rng, spec, dir, i, paths);
            }
            catch (Exception e) when (e is not ToolMissingException)
            {
                throw new InvalidOperationException(
                    $"Building layer {i} ({name}) failed; seed={Seed} {spec} in {dir}: {e.Message}", e);
            }
        }

        return new BuiltChain(dir, paths, Seed, spec);
    }

    /// <summary>File name of layer <paramref name="index"/>: A.qcow2 ... Z.qcow2, AA.qcow2, ...</summary>
    public static string LayerName(int index)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(index);
        var letters = new StringBuilder();
        for (var n = index + 1; n > 0; n = (n - 1) / 26)
        {
            letters.Insert(0, (char)('A' + ((n - 1) % 26)));
        }

        return letters.Append(".qcow2").ToString();
    }

    private void BuildLayer(Random rng, ChainSpec spec, string dir, int index, List<string> paths)
    {
        var name = LayerName(index);
        var fullPath = Path.Combine(dir, name);
        var size = spec.LayerSize(index);
        string? backing = index == 0 ? null : spec.RelativeBackingNames ? LayerName(index - 1) : paths[^1];
        var imageArg = spec.RelativeBackingNames ? name : fullPath;

        QemuTools.Create(imageArg, size, spec.ClusterSize, backing, spec.Compat == ChainCompat.V2, dir);
        paths.Add(fullPath);

        var patterns = WritePatternFiles(rng, dir, index);
        try
        {
            var planner = new LayerPlanner(rng, spec, size, patterns);
            var sessions = planner.Plan();
            _log($"  layer {index} {name}: size={size} backing={backing ?? "(none)"}; {planner.Summary}");
            foreach (var commands in sessions.Where(c => c.Count > 0))
            {
                _log($"    qemu-io: {string.Join("; ", commands)}");
                var args = new List<string> { "-f", "qcow2" };
                foreach (var command in commands)
                {
                    args.Add("-c");
                    args.Add(command);
                }

                args.Add(imageArg);
                ProcessRunner.Run(QemuTools.QemuIo, args, dir, QemuTools.DefaultTimeout).EnsureSuccess();
            }
        }
        finally
        {
            foreach (var file in patterns.All)
            {
                File.Delete(Path.Combine(dir, file));
            }
        }
    }

    private static PatternFiles WritePatternFiles(Random rng, string dir, int layer)
    {
        var random = new string[RandomPatternFiles];
        var bytes = new byte[PatternFileLength];
        for (var k = 0; k < random.Length; k++)
        {
            random[k] = $"pattern-L{layer}-{k}.bin";
            rng.NextBytes(bytes);
            File.WriteAllBytes(Path.Combine(dir, random[k]), bytes);
        }

        // Random bytes would not compress and QEMU would store such "compressed" writes
        // as normal clusters, so compressed writes use text drawn from a small alphabet.
        var text = new string[CompressiblePatternFiles];
        for (var k = 0; k < text.Length; k++)
        {
            text[k] = $"pattern-L{layer}-text{k}.bin";
            for (var j = 0; j < bytes.Length; j++)
            {
                bytes[j] = (byte)('a' + rng.Next(8));
            }

            File.WriteAllBytes(Path.Combine(dir, text[k]), bytes);
        }

        return new PatternFiles(random, text);
    }

    // Names are relative: qemu-io splits -c commands on spaces, and runs in the chain folder.
    private sealed record PatternFiles(string[] Random, string[] Compressible)
    {
        public IEnumerable<string> All => Random.Concat(Compressible);
    }

    // Chooses the qemu-io write commands for one image.
    private sealed class LayerPlanner
    {
        private const int CompressedAttempts = 32;

        // Each compressed cluster is its own qemu-io command (see PlanCompressed), so keep runs short.
        private const long MaxCompressedRun = 16;

        private readonly Random _rng;
        private readonly ChainSpec _spec;
        private readonly long _size;
        private readonly PatternFiles _patterns;
        private readonly long _cluster;
        private readonly long _clusters;
        private readonly long _maxSpan;

        // Clusters this image may have allocated; write -c fails with EIO on an allocated cluster.
        // Every non-compressed write counts, which is conservative (aligned zero writes on v3 allocate nothing).
        private readonly HashSet<long> _allocated = [];

        // Clusters holding compressed data written to this image, and whether one of them was
        // overwritten since the current qemu-io process started. QEMU 7.2 keeps packing compressed
        // data at an in-memory cursor (free_byte_offset) even after that host cluster was freed and
        // reused, which corrupts the image; a new process starts with a fresh cursor.
        private readonly HashSet<long> _compressedClusters = [];
        private readonly List<List<string>> _sessions = [[]];
        private bool _compressedOverwritten;

        private int _data;
        private int _zero;
        private int _compressed;
        private int _compressedFallbacks;
        private int _unaligned;

        public LayerPlanner(Random rng, ChainSpec spec, long size, PatternFiles patterns)
        {
            _rng = rng;
            _spec = spec;
            _size = size;
            _patterns = patterns;
            _cluster = spec.ClusterSize;
            _clusters = (size + _cluster - 1) / _cluster;
            _maxSpan = Math.Max(2 * _cluster, 256 * 1024);
        }

        public string Summary =>
            $"{_spec.WritesPerLayer} writes: {_data} data, {_zero} zero, {_compressed} compressed runs"
            + (_compressedFallbacks > 0 ? $" ({_compressedFallbacks} more fell back to data: no free clusters)" : string.Empty)
            + $", {_unaligned} unaligned; {_sessions.Count} qemu-io run(s)";

        /// <summary>Commands grouped by qemu-io process, in order.</summary>
        public List<List<string>> Plan()
        {
            for (var w = 0; w < _spec.WritesPerLayer; w++)
            {
                var roll = _rng.NextDouble();
                if (roll < _spec.CompressedWriteFraction)
                {
                    PlanCompressed();
                }
                else if (roll < _spec.CompressedWriteFraction + _spec.ZeroWriteFraction)
                {
                    PlanZero();
                }
                else
                {
                    PlanData();
                }
            }

            return _sessions;
        }

        private void PlanCompressed()
        {
            for (var attempt = 0; attempt < CompressedAttempts; attempt++)
            {
                var first = _rng.NextInt64(_clusters);
                var count = 1 + _rng.NextInt64(Math.Min(MaxCompressedRun, _clusters - first));
                var free = 0L;
                while (free < count && !_allocated.Contains(first + free))
                {
                    free++;
                }

                if (free == 0)
                {
                    continue;
                }

                if (_compressedOverwritten)
                {
                    _sessions.Add([]);
                    _compressedOverwritten = false;
                }

                // QEMU compresses the clusters of one multi-cluster write in parallel threads and
                // allocates them in completion order, which makes the image bytes vary run to run;
                // one command per cluster keeps a seed's image byte-for-byte reproducible.
                for (var c = first; c < first + free; c++)
                {
                    var offset = c * _cluster;
                    var length = Math.Min(_cluster, _size - offset);
                    var source = _rng.Next(2) == 0
                        ? PatternArg()
                        : $"-s {_patterns.Compressible[_rng.Next(_patterns.Compressible.Length)]}";
                    _sessions[^1].Add(Command($"write -c {source}", offset, length));
                    _compressedClusters.Add(c);
                }

                MarkAllocated(first * _cluster, Math.Min(free * _cluster, _size - (first * _cluster)));
                _compressed++;
                return;
            }

            _compressedFallbacks++;
            var (fallbackOffset, fallbackLength) = PickAligned();
            AddData(fallbackOffset, fallbackLength);
        }

        private void PlanZero()
        {
            var (offset, length) = PickRange();
            MarkOverwritten(offset, length);
            _zero++;
            _sessions[^1].Add(Command(_rng.Next(2) == 0 ? "write -z" : "write -z -u", offset, length));
        }

        private void PlanData()
        {
            var (offset, length) = PickRange();
            AddData(offset, length);
        }

        private void AddData(long offset, long length)
        {
            MarkOverwritten(offset, length);
            _data++;
            var source = _rng.Next(5) < 2
                ? PatternArg()
                : $"-s {_patterns.Random[_rng.Next(_patterns.Random.Length)]}";
            _sessions[^1].Add(Command($"write {source}", offset, length));
        }

        private string PatternArg() => string.Create(CultureInfo.InvariantCulture, $"-P {_rng.Next(256)}");

        private (long Offset, long Length) PickRange()
        {
            if (_rng.NextDouble() < _spec.UnalignedWriteFraction)
            {
                _unaligned++;
                return PickUnaligned();
            }

            return PickAligned();
        }

        private (long Offset, long Length) PickAligned()
        {
            var first = _rng.NextInt64(_clusters);
            var count = 1 + _rng.NextInt64(Math.Min(_maxSpan / _cluster, _clusters - first));
            var offset = first * _cluster;
            return (offset, Math.Min(count * _cluster, _size - offset));
        }

        private (long Offset, long Length) PickUnaligned()
        {
            var sectors = _size / Sector;
            var start = _rng.NextInt64(sectors);
            var count = 1 + _rng.NextInt64(Math.Min(_maxSpan / Sector, sectors - start));
            var end = start + count;
            var alignedStart = start * Sector % _cluster == 0;
            var alignedEnd = end * Sector % _cluster == 0 || end == sectors;
            if (_cluster > Sector && alignedStart && alignedEnd)
            {
                // Nudge by one sector so the write really is not cluster aligned.
                if (end < sectors)
                {
                    start++;
                }
                else if (count > 1)
                {
                    count--;
                }
            }

            return (start * Sector, count * Sector);
        }

        private void MarkAllocated(long offset, long length)
        {
            for (var c = offset / _cluster; c <= (offset + length - 1) / _cluster; c++)
            {
                _allocated.Add(c);
            }
        }

        // A data or zero write over a compressed cluster frees (part of) its host cluster.
        private void MarkOverwritten(long offset, long length)
        {
            MarkAllocated(offset, length);
            for (var c = offset / _cluster; c <= (offset + length - 1) / _cluster; c++)
            {
                _compressedOverwritten |= _compressedClusters.Remove(c);
            }
        }

        private static string Command(string verb, long offset, long length)
        {
            return string.Create(CultureInfo.InvariantCulture, $"{verb} {offset} {length}");
        }
    }
}
