using System.Globalization;

namespace Orchestrator.Testing;

/// <summary>
/// The QEMU/libnbd command-line tools used as the reference implementation.
/// Accessors throw <see cref="ToolMissingException"/> when a tool is absent so tests fail rather than skip.
/// The read-only helpers pass -U (force-share): the tests inspect images a node or an open chain holds with
/// QEMU-compatible locks, as an operator would with qemu-img -U.
/// </summary>
public static class QemuTools
{
    /// <summary>Generous because 2 MiB-cluster images and large converts are slow on busy CI machines.</summary>
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromMinutes(5);

    private static readonly ExternalTool _qemuImg = new("qemu-img", "qemu-utils");
    private static readonly ExternalTool _qemuIo = new("qemu-io", "qemu-utils");
    private static readonly ExternalTool _qemuNbd = new("qemu-nbd", "qemu-utils");
    private static readonly ExternalTool _nbdInfo = new("nbdinfo", "libnbd-bin");
    private static readonly ExternalTool _nbdCopy = new("nbdcopy", "libnbd-bin");

    /// <summary>Path of qemu-img.</summary>
    public static string QemuImg => _qemuImg.Path;

    /// <summary>Path of qemu-io.</summary>
    public static string QemuIo => _qemuIo.Path;

    /// <summary>Path of qemu-nbd.</summary>
    public static string QemuNbd => _qemuNbd.Path;

    /// <summary>Path of nbdinfo.</summary>
    public static string NbdInfo => _nbdInfo.Path;

    /// <summary>Path of nbdcopy.</summary>
    public static string NbdCopy => _nbdCopy.Path;

    /// <summary>All tools, e.g. for a preflight check that reports every missing one.</summary>
    public static IReadOnlyList<ExternalTool> All { get; } = [_qemuImg, _qemuIo, _qemuNbd, _nbdInfo, _nbdCopy];

    /// <summary>Runs qemu-img; the exit code is not checked.</summary>
    public static ProcessResult Img(params string[] args) => _qemuImg.Run(args, timeout: DefaultTimeout);

    /// <summary>Runs qemu-io; the exit code is not checked (it is 1 if any -c command failed).</summary>
    public static ProcessResult Io(params string[] args) => _qemuIo.Run(args, timeout: DefaultTimeout);

    /// <summary>Runs nbdinfo; the exit code is not checked.</summary>
    public static ProcessResult NbdInfoRun(params string[] args) => _nbdInfo.Run(args, timeout: DefaultTimeout);

    /// <summary>Runs nbdcopy; the exit code is not checked.</summary>
    public static ProcessResult NbdCopyRun(params string[] args) => _nbdCopy.Run(args, timeout: DefaultTimeout);

    /// <summary>Raw JSON of <c>qemu-img map --output=json -f qcow2</c>; parse it with <see cref="JsonMap.Parse"/>.</summary>
    public static string Map(string path)
    {
        return Img("map", "--output=json", "-U", "-f", "qcow2", path).EnsureSuccess().StdOut;
    }

    /// <summary><c>qemu-img check -f qcow2</c>: exit 0 clean, 2 corruptions, 3 leaks only, 1 check failed.</summary>
    public static ProcessResult Check(string path) => Img("check", "-U", "-f", "qcow2", path);

    /// <summary><c>qemu-img compare</c>: exit 0 identical guest content, 1 different, 2+ error.</summary>
    public static ProcessResult Compare(string a, string b, string fmtA = "qcow2", string fmtB = "qcow2")
    {
        return Img("compare", "-U", "-f", fmtA, "-F", fmtB, a, b);
    }

    /// <summary>JSON of <c>qemu-img info</c>; with the backing chain it is an array, otherwise one object.</summary>
    public static string InfoJson(string path, bool backingChain)
    {
        string[] args = backingChain
            ? ["info", "--output=json", "-U", "-f", "qcow2", "--backing-chain", path]
            : ["info", "--output=json", "-U", "-f", "qcow2", path];
        return Img(args).EnsureSuccess().StdOut;
    }

    /// <summary>Writes the guest-visible content of the qcow2 chain at <paramref name="src"/> as a raw file.</summary>
    public static void ConvertToRaw(string src, string dst)
    {
        Img("convert", "-U", "-f", "qcow2", "-O", "raw", src, dst).EnsureSuccess();
    }

    /// <summary>
    /// Creates a qcow2 image. A relative <paramref name="backing"/> is stored as given and
    /// resolved by QEMU relative to the new image's folder.
    /// </summary>
    public static ProcessResult Create(
        string path,
        long size,
        int clusterSize = 65536,
        string? backing = null,
        bool compatV2 = false,
        string? workingDirectory = null)
    {
        var args = new List<string>
        {
            "create", "-q", "-f", "qcow2",
            "-o", string.Create(CultureInfo.InvariantCulture, $"cluster_size={clusterSize},compat={(compatV2 ? "0.10" : "1.1")}"),
        };
        if (backing is not null)
        {
            // qemu-img refuses -b without -F since QEMU 6.1.
            args.AddRange(["-b", backing, "-F", "qcow2"]);
        }

        args.Add(path);
        args.Add(size.ToString(CultureInfo.InvariantCulture));
        return _qemuImg.Run(args, workingDirectory, DefaultTimeout).EnsureSuccess();
    }
}
