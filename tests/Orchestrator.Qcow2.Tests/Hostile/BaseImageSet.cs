using Orchestrator.Testing;

namespace Orchestrator.Qcow2.Tests.Hostile;

/// <summary>
/// Builds the valid images that hostile tests mutate, once per test class: data, zero (plain and allocated),
/// compressed and partial clusters, 512 B and 64 KiB clusters, v2 and v3, a backing chain, an internal
/// snapshot, a persistent bitmap, and 1- and 64-bit refcounts. Every recipe is fixed so a seed replays exactly.
/// </summary>
public sealed class BaseImageSet : IDisposable
{
    private readonly TempDirectory _dir = new("qcow2-bases");

    public BaseImageSet()
    {
        var list = new List<BaseImage>
        {
            Single("v3-64k", "cluster_size=65536,compat=1.1", "1G",
                "write -P 0x11 0 64k", "write -P 0x22 100k 30k", "write -c -P 0x33 256k 64k", "write -c -P 0x34 320k 128k",
                "write -z 512k 128k", "write -P 0x44 768k 128k", "write -z 768k 64k", "write -z -u 832k 64k",
                "write -P 0x66 600M 64k", "write -P 0x77 1048512k 64k"),
            Single("v3-512", "cluster_size=512,compat=1.1", "1M",
                "write -P 0x11 0 4k", "write -P 0x22 5000 3000", "write -c -P 0x33 16k 512", "write -c -P 0x34 17k 1k",
                "write -z 32k 4k", "write -P 0x44 64k 2k", "write -z 64k 1k", "write -z -u 65k 512",
                "write -P 0x55 900k 8k", "write -P 0x66 1048064 512"),
            Single("v2-64k", "cluster_size=65536,compat=0.10", "4M",
                "write -P 0x11 0 64k", "write -P 0x22 100k 30k", "write -c -P 0x33 256k 64k", "write -z 512k 64k",
                "write -P 0x44 3M 128k"),
            Single("rc1-512", "cluster_size=512,refcount_bits=1", "512k",
                "write -P 0x11 0 4k", "write -z 8k 4k", "write -P 0x33 10000 3000", "write -P 0x44 300k 1k"),
            Single("rc64-64k", "cluster_size=65536,refcount_bits=64", "4M",
                "write -P 0x11 0 64k", "write -c -P 0x22 128k 64k", "write -z 256k 64k", "write -P 0x33 1M 100k"),
            Snapshot(),
            Bitmap(),
        };
        list.AddRange(Chain());
        Images = list;
    }

    internal IReadOnlyList<BaseImage> Images { get; }

    internal BaseImage this[string name] => Images.Single(i => i.Name == name);

    public void Dispose() => _dir.Dispose();

    private BaseImage Single(string name, string options, string size, params string[] writes)
    {
        var dir = Directory.CreateDirectory(_dir.Combine(name)).FullName;
        var path = Path.Combine(dir, "A.qcow2");
        QemuTools.Img("create", "-q", "-f", "qcow2", "-o", options, path, size).EnsureSuccess();
        QemuIo(path, writes);
        return Load(name, dir, "A.qcow2", "A.qcow2");
    }

    private BaseImage Snapshot()
    {
        var dir = Directory.CreateDirectory(_dir.Combine("snapshot-64k")).FullName;
        var path = Path.Combine(dir, "A.qcow2");
        QemuTools.Img("create", "-q", "-f", "qcow2", "-o", "cluster_size=65536", path, "4M").EnsureSuccess();
        QemuIo(path, "write -P 0x11 0 128k", "write -c -P 0x12 256k 64k");
        QemuTools.Img("snapshot", "-c", "s1", path).EnsureSuccess();

        // Overwriting a shared cluster after the snapshot makes the active L2 differ from the snapshot's.
        QemuIo(path, "write -P 0x21 64k 64k", "write -P 0x22 1M 64k");
        return Load("snapshot-64k", dir, "A.qcow2", "A.qcow2");
    }

    private BaseImage Bitmap()
    {
        var dir = Directory.CreateDirectory(_dir.Combine("bitmap-64k")).FullName;
        var path = Path.Combine(dir, "A.qcow2");
        QemuTools.Img("create", "-q", "-f", "qcow2", "-o", "cluster_size=65536", path, "4M").EnsureSuccess();
        QemuIo(path, "write -P 0x11 0 128k");
        QemuTools.Img("bitmap", "--add", path, "b0").EnsureSuccess();
        return Load("bitmap-64k", dir, "A.qcow2", "A.qcow2");
    }

    private IEnumerable<BaseImage> Chain()
    {
        var dir = Directory.CreateDirectory(_dir.Combine("chain")).FullName;
        QemuTools.Img("create", "-q", "-f", "qcow2", "-o", "cluster_size=65536", Path.Combine(dir, "base.qcow2"), "2M").EnsureSuccess();
        QemuIo(Path.Combine(dir, "base.qcow2"), "write -P 0xB1 0 256k", "write -c -P 0xB2 256k 64k", "write -P 0xB3 1M 64k");

        // A relative backing name, as the orchestrator writes them; the top is larger than its backing file.
        QemuTools.Create("top.qcow2", 4L << 20, backing: "base.qcow2", workingDirectory: dir);
        QemuIo(Path.Combine(dir, "top.qcow2"),
            "write -P 0x71 64k 64k", "write -P 0x72 130k 10k", "write -z 1M 64k", "write -P 0x73 3M 64k");
        yield return Load("chain-top", dir, "top.qcow2", "top.qcow2");
        yield return Load("chain-base", dir, "top.qcow2", "base.qcow2");
    }

    private static void QemuIo(string path, params string[] commands)
    {
        var args = new List<string> { "-f", "qcow2" };
        foreach (var command in commands)
        {
            args.Add("-c");
            args.Add(command);
        }

        args.Add(path);
        QemuTools.Io([.. args]).EnsureSuccess();
    }

    private static BaseImage Load(string name, string dir, string top, string target)
    {
        var files = Directory.GetFiles(dir, "*.qcow2").ToDictionary(f => Path.GetFileName(f), File.ReadAllBytes);
        foreach (var file in files.Keys)
        {
            var check = QemuTools.Check(Path.Combine(dir, file));
            if (check.ExitCode != 0)
            {
                throw new InvalidOperationException($"base image {name}/{file} is not clean: {check.StdOut}{check.StdErr}");
            }
        }

        return new BaseImage(name, files, top, target);
    }
}
