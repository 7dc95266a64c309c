using System.Diagnostics;
using System.Buffers.Binary;
using Orchestrator.Qcow2.Chain;
using Orchestrator.Qcow2.Check;
using Orchestrator.Qcow2.Format;
using Orchestrator.Qcow2.Map;
using Orchestrator.Testing;

namespace Orchestrator.Qcow2.Tests.Hostile;

/// <summary>
/// Feeds one mutated image to the library the way the orchestrator would use it, and checks the invariants:
/// only <see cref="Qcow2Exception"/> escapes; read-only sessions never change a file; a refused writable open
/// changes nothing; an accepted one writes only near the end of the file and rewrites the header only on
/// purpose; and when it accepts the image, the written data reads back, the rest of the guest is unchanged,
/// and the image still checks clean.
/// </summary>
internal sealed class MutantRunner
{
    /// <summary>Guests up to this size are read whole; larger ones are sampled along the map.</summary>
    private const long FullReadLimit = 8L << 20;

    private const long SampleBudget = 8L << 20;
    private const int MaxMapEntries = 100_000;
    private const int MaxExtentSteps = 100_000;
    private const int MaxFailedSteps = 32;

    /// <summary>One in this many images accepted for writing is also judged by qemu-img check.</summary>
    private const int QemuSampleRate = 6;

    private readonly string _dir;
    private readonly BaseImage _base;
    private readonly byte[] _mutant;
    private readonly Random _rng;
    private readonly MutantFindings _findings = new();
    private readonly Dictionary<string, byte[]> _written = [];
    private readonly List<(long Offset, byte[] Data)> _guestReads = [];
    private (long Offset, byte[] Data)? _window;

    /// <summary>Whether <see cref="_window"/> holds the guest bytes read before the writes (not just zeros).</summary>
    private bool _windowRead;

    /// <summary>
    /// Whether the top was consistent before the session (our read-only check: no corruption, leaks allowed). A clean
    /// writable open does not check (as QEMU's), so an image corrupt beforehand may be accepted for writing; only a
    /// consistent one is held to the content and consistency invariants after the writes.
    /// </summary>
    private bool _topConsistentBefore;
    private volatile string _phase = "starting";

    // Time spent in qemu-img check (the cross-check): QEMU's cost, not the library's, so it is not part of the time limit.
    private long _qemuTicks;

    public MutantRunner(string dir, BaseImage baseImage, byte[] mutant, Random rng)
    {
        _dir = dir;
        _base = baseImage;
        _mutant = mutant;
        _rng = rng;
    }

    /// <summary>How long the cross-check's qemu-img runs took so far (QEMU's own check can take seconds on a hostile L1).</summary>
    public TimeSpan QemuTime => TimeSpan.FromTicks(Interlocked.Read(ref _qemuTicks));

    /// <summary>The phase running now; named in the failure when the mutant times out.</summary>
    public string Phase => _phase;

    private string TopPath => Path.Combine(_dir, _base.TopFile);

    private string TargetPath => Path.Combine(_dir, _base.TargetFile);

    public MutantFindings Run()
    {
        // Files left by an earlier mutant in this folder would make a backing name resolve differently.
        foreach (var stale in Directory.GetFiles(_dir))
        {
            File.Delete(stale);
        }

        foreach (var (name, bytes) in _base.Files)
        {
            var content = name == _base.TargetFile ? _mutant : bytes;
            File.WriteAllBytes(Path.Combine(_dir, name), content);
            _written[name] = content;
        }

        ReadOnlyImage();
        ReadOnlyChain();
        RequireUnchanged(_written.Keys, "a read-only session modified");
        WritableSession();
        return _findings;
    }

    // ---- read-only ------------------------------------------------------------------------------

    private void ReadOnlyImage()
    {
        Qcow2Image? image = null;
        var open = Try("open read-only", () => image = Qcow2Image.Open(TargetPath, ImageOpenOptions.ReadOnly()));
        _findings.Tag($"ro-open:{open.Kind}");
        if (!open.Ok)
        {
            return;
        }

        using (image)
        {
            WalkExtents(image!);
            Try("check read-only", () =>
            {
                var result = ImageChecker.Check(image!, repairLeaks: false);
                if (result.ExitCode is not (0 or 2 or 3) || result.Corruptions < 0 || result.Leaks < 0 || result.LeaksFixed != 0)
                {
                    _findings.Fail("check returned an impossible result", $"{result}");
                }

                _findings.Tag($"check:exit{result.ExitCode}");
                _topConsistentBefore = result.ExitCode is 0 or 3;
            });
        }
    }

    /// <summary>GetExtent from 0 to the virtual size, reading a little of every data and compressed extent.</summary>
    private void WalkExtents(Qcow2Image image)
    {
        var offset = 0L;
        var failed = 0;
        var cluster = new byte[image.ClusterSize];
        var sample = new byte[4096];
        for (var step = 0; step < MaxExtentSteps && offset < image.VirtualSize && failed < MaxFailedSteps; step++)
        {
            var at = offset;
            Extent extent = default;
            var outcome = Try("GetExtent walk", () =>
            {
                extent = image.GetExtent(at, image.VirtualSize - at);
                if (extent.Kind == ClusterKind.Data)
                {
                    image.ReadHost(sample.AsSpan(0, (int)Math.Min(sample.Length, extent.Length)), extent.HostOffset);
                }
                else if (extent.Kind == ClusterKind.Compressed)
                {
                    image.ReadCompressedCluster(extent.RawEntry, cluster);
                }
            });
            if (!outcome.Ok)
            {
                failed++;
                offset = ((at / image.ClusterSize) + 1) * image.ClusterSize;
                continue;
            }

            if (extent.Length <= 0 || extent.Length > image.VirtualSize - at)
            {
                _findings.Fail("GetExtent returned an empty or overlong extent", $"at {at}: {extent} (virtual size {image.VirtualSize})");
                return;
            }

            offset += extent.Length;
        }
    }

    private void ReadOnlyChain()
    {
        ImageChain? chain = null;
        var open = Try("open chain read-only", () => chain = ImageChain.Open(TopPath, new ChainOpenOptions()));
        _findings.Tag($"ro-chain:{open.Kind}");
        if (!open.Ok)
        {
            return;
        }

        using (chain)
        {
            var size = chain!.VirtualSize;
            ChooseWindow(size, chain.Top.ClusterSize);
            if (_window is { } w)
            {
                var data = new byte[w.Data.Length];
                if (Try("read window", () => chain.Read(w.Offset, data)).Ok)
                {
                    _window = (w.Offset, data);
                    _windowRead = true;
                }
            }

            var map = ReadMap(chain);
            if (size <= FullReadLimit)
            {
                ReadRange(chain, 0, size);
            }
            else if (map is not null)
            {
                var budget = SampleBudget;
                foreach (var entry in map.Where(e => e.Present))
                {
                    var head = Math.Min(entry.Length, 64 * 1024);
                    var tail = Math.Min(entry.Length - head, 4096);
                    ReadRange(chain, entry.Start, head);
                    ReadRange(chain, entry.Start + entry.Length - tail, tail);
                    budget -= head + tail;
                    if (budget <= 0)
                    {
                        break;
                    }
                }
            }
        }
    }

    private List<MapEntry>? ReadMap(ImageChain chain)
    {
        List<MapEntry>? map = null;
        Try("map", () =>
        {
            var entries = ChainMapper.Map(chain).Take(MaxMapEntries).ToList();
            var expected = 0L;
            foreach (var entry in entries)
            {
                if (entry.Start != expected || entry.Length <= 0 || entry.Depth < 0 || entry.Depth >= chain.Images.Count)
                {
                    _findings.Fail("map entries are not contiguous positive ranges", $"expected start {expected}, got {entry.ToQemuJson()}");
                    return;
                }

                expected += entry.Length;
            }

            if (expected > chain.VirtualSize || (entries.Count < MaxMapEntries && expected != chain.VirtualSize))
            {
                _findings.Fail("map does not cover the virtual size exactly", $"covered {expected} of {chain.VirtualSize}");
                return;
            }

            map = entries;
        });
        return map;
    }

    private void ReadRange(ImageChain chain, long offset, long length)
    {
        const int chunk = 256 * 1024;
        var failed = 0;
        for (var at = offset; at < offset + length && failed < MaxFailedSteps; at += chunk)
        {
            var data = new byte[(int)Math.Min(chunk, offset + length - at)];
            var start = at;
            if (Try("read guest", () => chain.Read(start, data)).Ok)
            {
                _guestReads.Add((start, data));
            }
            else
            {
                failed++;
            }
        }
    }

    private void ChooseWindow(long virtualSize, int clusterSize)
    {
        if (_window is not null || virtualSize <= 0)
        {
            return;
        }

        var length = Math.Min(virtualSize, Math.Max(3L * clusterSize, 8192));
        var roll = _rng.Next(3);
        var start = roll switch
        {
            0 => 0,
            1 => virtualSize - length,
            _ => _rng.NextInt64(0, virtualSize - length + 1),
        };
        _window = (start, new byte[length]);
    }

    // ---- writable -------------------------------------------------------------------------------

    private void WritableSession()
    {
        var topBefore = _written[_base.TopFile];
        ImageChain? chain = null;
        var open = Try("open chain writable", () => chain = ImageChain.Open(TopPath, new ChainOpenOptions { WritableTop = true }));
        _findings.Tag($"rw-open:{open.Kind}");
        if (!open.Ok)
        {
            RequireUnchanged(_written.Keys, $"a refused writable open ({open.Kind}) modified", open.Refused?.Message);
            return;
        }

        var ops = new List<(string Name, long Offset, byte[]? Data, long Length)>();
        var allOk = true;
        int clusterSize;
        using (chain)
        {
            clusterSize = chain!.Top.ClusterSize;
            ChooseWindow(chain.VirtualSize, clusterSize);
            if (_window is { } w)
            {
                var n = _rng.Next(1, 4);
                for (var i = 0; i < n; i++)
                {
                    var offset = w.Offset + _rng.NextInt64(0, w.Data.Length);
                    var length = _rng.NextInt64(1, w.Offset + w.Data.Length - offset + 1);
                    if (_rng.Next(3) == 0)
                    {
                        ops.Add(("zero", offset, null, length));
                    }
                    else
                    {
                        var data = new byte[length];
                        _rng.NextBytes(data);
                        ops.Add(("write", offset, data, length));
                    }
                }
            }

            foreach (var op in ops)
            {
                var outcome = Try($"{op.Name} {op.Length} bytes at {op.Offset}", () =>
                {
                    if (op.Data is null)
                    {
                        chain.WriteZeroes(op.Offset, op.Length);
                    }
                    else
                    {
                        chain.Write(op.Offset, op.Data);
                    }
                });
                if (!outcome.Ok)
                {
                    _findings.Tag($"rw-write:{outcome.Kind}");
                    allOk = false;
                    break;
                }
            }

            if (allOk && !Try("flush", chain.Flush).Ok)
            {
                allOk = false;
            }
        }

        _findings.Tag(allOk ? "rw:writes-ok" : "rw:writes-failed");
        RequireUnchanged(_written.Keys.Where(f => f != _base.TopFile), "a writable session modified the read-only backing file");
        CheckGrowth(topBefore, ops, clusterSize);
        CheckHeaderCluster(topBefore, clusterSize);
        if (allOk)
        {
            if (_topConsistentBefore || _base.TargetFile != _base.TopFile)
            {
                VerifyAfterWrites(ops);
            }

            // qemu-img is slow next to the library, so only a sample of accepted images is judged by it.
            if (_rng.Next(QemuSampleRate) == 0)
            {
                CrossCheckWithQemu(topBefore);
            }
        }
    }

    /// <summary>
    /// qemu-img check before (on a copy of the mutant) and after our writes: our writes must not corrupt an image
    /// QEMU found consistent, and our open-time check should not accept for writing what QEMU calls corrupt.
    /// </summary>
    private void CrossCheckWithQemu(byte[] topBefore)
    {
        _phase = "qemu-img check";
        var prePath = Path.Combine(_dir, "pre-" + _base.TopFile);
        File.WriteAllBytes(prePath, topBefore);
        var qemu = Stopwatch.StartNew();
        var pre = QemuCheck(prePath);
        var post = QemuCheck(TopPath);
        Interlocked.Add(ref _qemuTicks, qemu.Elapsed.Ticks);
        if (pre is null || post is null)
        {
            _findings.Tag("qemu-check:timeout");
            return;
        }

        _findings.Tag($"qemu-check:before{pre.ExitCode}-after{post.ExitCode}");
        if (pre.ExitCode is 1 or 2)
        {
            _findings.Note($"our open-time check accepted for writing an image that qemu-img check rejects (exit {pre.ExitCode})",
                FirstLines(pre.StdOut + pre.StdErr));
        }
        else if (post.ExitCode is 1 or 2)
        {
            _findings.Fail($"qemu-img check fails (exit {post.ExitCode}) after our writes to an image it found consistent (exit {pre.ExitCode})",
                FirstLines(post.StdOut + post.StdErr));
        }
    }

    private static ProcessResult? QemuCheck(string path)
    {
        try
        {
            return ProcessRunner.Run(QemuTools.QemuImg, ["check", "-f", "qcow2", path], timeout: TimeSpan.FromSeconds(3));
        }
        catch (TimeoutException)
        {
            return null;
        }
    }

    private static string FirstLines(string text) => string.Join(" | ", text.Split('\n', StringSplitOptions.RemoveEmptyEntries).Take(4));

    /// <summary>
    /// New clusters past the old end of the file are either allocated for this session (data, L2 tables,
    /// refcount blocks, a grown refcount table: bounded by the allowance) or were already counted as used by
    /// the refcounts, which the allocator must skip (QEMU does the same). Anything else is a stray write.
    /// </summary>
    private void CheckGrowth(byte[] before, List<(string Name, long Offset, byte[]? Data, long Length)> ops, int clusterSize)
    {
        var after = new FileInfo(TopPath).Length;
        var touched = ops.Sum(op => ((op.Offset + op.Length - 1) / clusterSize) - (op.Offset / clusterSize) + 1);
        var refcountTableClusters = before.Length >= 60 ? BinaryPrimitives.ReadUInt32BigEndian(before.AsSpan(56)) : 0;
        var allowance = ((2 * touched) + 64 + (2 * Math.Min(refcountTableClusters, 1u << 14))) * clusterSize;
        if (after - before.LongLength <= allowance)
        {
            return;
        }

        var firstNew = (before.LongLength + clusterSize - 1) / clusterSize;
        var lastNew = (after + clusterSize - 1) / clusterSize;
        if (lastNew - firstNew > 1L << 26)
        {
            _findings.Fail("a writable session grew the file far beyond what was written", $"{before.LongLength} -> {after} bytes");
            return;
        }

        var refcounts = new PreSessionRefcounts(before);
        var free = 0L;
        for (var c = firstNew; c < lastNew; c++)
        {
            if (refcounts.Get(c) == 0)
            {
                free++;
            }
        }

        _findings.Tag("rw:grew-over-clusters-already-counted");
        if (free * clusterSize > allowance)
        {
            _findings.Fail("a writable session grew the file far beyond what was written",
                $"{before.LongLength} -> {after} bytes after writing {ops.Sum(o => o.Length)} bytes in {touched} cluster(s); "
                + $"{free} of the new clusters were free before; allowance {allowance / clusterSize} clusters");
        }
    }



    /// <summary>Cluster 0 may change only through a deliberate header rewrite (autoclear bits, a moved refcount table).</summary>
    private void CheckHeaderCluster(byte[] before, int clusterSize)
    {
        // Only the header cluster is compared: a session on a corrupt image may legitimately grow the file far (past
        // what File.ReadAllBytes can hold), as QEMU's would.
        var afterLength = new FileInfo(TopPath).Length;
        var after = ReadHead(TopPath, clusterSize);
        var length = (int)Math.Min(clusterSize, Math.Min(before.Length, after.Length));
        if (before.AsSpan(0, length).SequenceEqual(after.AsSpan(0, length)))
        {
            return;
        }

        Qcow2Header old, current;
        try
        {
            old = Qcow2Header.Parse(before.AsSpan(0, Math.Min(clusterSize, before.Length)), before.Length, TopPath);
            current = Qcow2Header.Parse(after.AsSpan(0, Math.Min(clusterSize, after.Length)), afterLength, TopPath);
        }
        catch (Qcow2Exception e)
        {
            _findings.Fail("a writable session left a header that no longer parses", e.Message);
            return;
        }

        // The dirty bit alone may differ: set by a session that failed after counting clusters, or cleared by the repair
        // of an image that came dirty.
        var dirtyChanged = (old.IncompatibleFeatures ^ current.IncompatibleFeatures) == Qcow2Constants.IncompatDirty;
        var rewrote = old.AutoclearFeatures != 0 || old.RefcountTableOffset != current.RefcountTableOffset || dirtyChanged;
        var comparable = current with
        {
            IncompatibleFeatures = dirtyChanged ? old.IncompatibleFeatures : current.IncompatibleFeatures,
            AutoclearFeatures = old.AutoclearFeatures,
            RefcountTableOffset = old.RefcountTableOffset,
            RefcountTableClusters = old.RefcountTableClusters,
            HeaderLength = old.HeaderLength,
            OtherExtensions = old.OtherExtensions,
        };
        var sameExtensions = old.OtherExtensions.Count == current.OtherExtensions.Count
            && Enumerable.Range(0, old.OtherExtensions.Count).All(i =>
                old.OtherExtensions[i].Type == current.OtherExtensions[i].Type && old.OtherExtensions[i].Data.AsSpan().SequenceEqual(current.OtherExtensions[i].Data));
        if (!rewrote || comparable != old || !sameExtensions || current.AutoclearFeatures != 0)
        {
            var first = Enumerable.Range(0, length).First(i => before[i] != after[i]);
            _findings.Fail("the header cluster changed beyond a deliberate header rewrite",
                $"first changed byte {first}; before: {old with { OtherExtensions = [] }}; after: {current with { OtherExtensions = [] }}");
        }
    }

    /// <summary>Data written reads back, the rest of the guest reads as before, and the image still checks clean.</summary>
    private void VerifyAfterWrites(List<(string Name, long Offset, byte[]? Data, long Length)> ops)
    {
        (long Offset, byte[] Data)? expectedWindow = _windowRead && _window is { } w ? (w.Offset, (byte[])w.Data.Clone()) : null;
        if (expectedWindow is { } ew)
        {
            foreach (var op in ops)
            {
                var target = ew.Data.AsSpan((int)(op.Offset - ew.Offset), (int)op.Length);
                if (op.Data is null)
                {
                    target.Clear();
                }
                else
                {
                    op.Data.CopyTo(target);
                }
            }
        }

        ImageChain? chain = null;
        var reopen = Try("reopen chain after writes", () => chain = ImageChain.Open(TopPath, new ChainOpenOptions()));
        if (!reopen.Ok)
        {
            _findings.Fail("the image cannot be reopened after an accepted writable session", $"{reopen.Kind}: {reopen.Refused?.Message}");
            return;
        }

        using (chain)
        {
            if (expectedWindow is { } ew2)
            {
                var actual = new byte[ew2.Data.Length];
                var readBack = Try("read back", () => chain!.Read(ew2.Offset, actual));
                if (!readBack.Ok)
                {
                    _findings.Fail("written data cannot be read back", $"{readBack.Kind}: {readBack.Refused?.Message}");
                }
                else if (!actual.AsSpan().SequenceEqual(ew2.Data))
                {
                    var first = Enumerable.Range(0, actual.Length).First(i => actual[i] != ew2.Data[i]);
                    _findings.Fail("written data does not read back", $"window {ew2.Offset}+{actual.Length}: first difference at guest offset {ew2.Offset + first}");
                }
            }

            foreach (var (offset, data) in _guestReads)
            {
                var actual = new byte[data.Length];
                if (!Try("re-read guest", () => chain!.Read(offset, actual)).Ok)
                {
                    _findings.Fail("guest data readable before the writes is not readable after them", $"{offset}+{data.Length}");
                    break;
                }

                var expected = (byte[])data.Clone();
                if (expectedWindow is { } ew3)
                {
                    var from = Math.Max(offset, ew3.Offset);
                    var to = Math.Min(offset + data.Length, ew3.Offset + ew3.Data.Length);
                    if (from < to)
                    {
                        ew3.Data.AsSpan((int)(from - ew3.Offset), (int)(to - from)).CopyTo(expected.AsSpan((int)(from - offset)));
                    }
                }
                else if (ops.Any(op => op.Offset < offset + data.Length && offset < op.Offset + op.Length))
                {
                    continue;
                }

                if (!actual.AsSpan().SequenceEqual(expected))
                {
                    var first = Enumerable.Range(0, actual.Length).First(i => actual[i] != expected[i]);
                    _findings.Fail("a write changed guest data outside the written range",
                        $"guest offset {offset + first}; writes: {string.Join(", ", ops.Select(o => $"{o.Name} {o.Offset}+{o.Length}"))}");
                    break;
                }
            }

            Try("check after writes", () =>
            {
                var result = ImageChecker.Check(chain!.Top, repairLeaks: false);
                if (result.Corruptions > 0)
                {
                    _findings.Fail("an image accepted for writing is corrupt after the writes",
                        string.Join("; ", result.Messages.Take(5)));
                }
            });
        }
    }

    // ---- helpers --------------------------------------------------------------------------------

    private static byte[] ReadHead(string path, int length)
    {
        using var file = File.OpenRead(path);
        var head = new byte[(int)Math.Min(length, file.Length)];
        file.ReadExactly(head);
        return head;
    }

    private void RequireUnchanged(IEnumerable<string> names, string what, string? why = null)
    {
        foreach (var name in names)
        {
            var before = _written[name];
            var nowLength = new FileInfo(Path.Combine(_dir, name)).Length;
            if (nowLength != before.Length)
            {
                _findings.Fail($"{what} the file", $"{name}: {before.Length} -> {nowLength} bytes" + (why is null ? "" : $"; refused with: {why}"));
                continue;
            }

            var now = File.ReadAllBytes(Path.Combine(_dir, name));
            if (!now.AsSpan().SequenceEqual(before))
            {
                var first = Enumerable.Range(0, Math.Min(now.Length, before.Length)).FirstOrDefault(i => now[i] != before[i], Math.Min(now.Length, before.Length));
                _findings.Fail($"{what} the file", $"{name}: {before.Length} -> {now.Length} bytes, first difference at byte {first}"
                    + (why is null ? "" : $"; refused with: {why}"));
            }
        }
    }

    /// <summary>
    /// Runs one library call: a <see cref="Qcow2Exception"/> is returned (and a doubtful kind noted);
    /// any other exception is a failure, recorded with its stack.
    /// </summary>
    private Outcome Try(string phase, Action action)
    {
        _phase = phase;
        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        try
        {
            action();
            return new Outcome(null, false);
        }
        catch (Qcow2Exception e)
        {
            if (string.IsNullOrWhiteSpace(e.Detail))
            {
                _findings.Fail("Qcow2Exception without a message", $"{phase}: {e.Kind}");
            }

            if (e.Kind is Qcow2ErrorKind.Io or Qcow2ErrorKind.InvalidArgument or Qcow2ErrorKind.NoSpace)
            {
                _findings.Note($"{e.Kind} from a hostile file in '{Normalize(phase)}' at {MutantFindings.LibraryFrame(e)}", e.Message);
            }

            return new Outcome(e, false);
        }
        catch (Exception e)
        {
            // Grouped by where it was thrown, not by which phase hit it: one signature per bug.
            _findings.Fail($"{e.GetType().Name} escaped from {MutantFindings.LibraryFrame(e)}", $"in '{phase}': {e}");
            return new Outcome(null, true);
        }
        finally
        {
            var key = Normalize(phase);
            _findings.PhaseTimes[key] = _findings.PhaseTimes.GetValueOrDefault(key) + System.Diagnostics.Stopwatch.GetElapsedTime(started);
        }
    }

    /// <summary>How one library call ended: fine, refused with our exception, or with another exception escaping.</summary>
    private readonly record struct Outcome(Qcow2Exception? Refused, bool Escaped)
    {
        public bool Ok => Refused is null && !Escaped;

        public string Kind => Refused?.Kind.ToString() ?? (Escaped ? "escaped" : "ok");
    }

    private static string Normalize(string phase) => phase.StartsWith("write ", StringComparison.Ordinal) ? "write" :
        phase.StartsWith("zero ", StringComparison.Ordinal) ? "write zeroes" : phase;
}
