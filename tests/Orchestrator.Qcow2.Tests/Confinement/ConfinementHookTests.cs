using Orchestrator.Qcow2.Chain;
using Orchestrator.Qcow2.IO;
using Orchestrator.Testing;

namespace Orchestrator.Qcow2.Tests.Confinement;

/// <summary>
/// The library's confinement hook: asked on the resolved name before a file is opened (so a refused name is never
/// opened, and whether it exists is never told) and again on the opened descriptor (so a swap in between loses).
/// Non-regular files are refused at once on an O_NONBLOCK open instead of blocking.
/// </summary>
public sealed class ConfinementHookTests : IDisposable
{
    private readonly TempDirectory _dir = new("confinement-hook");

    private string Root => Directory.CreateDirectory(_dir.Combine("root")).FullName;

    private string Outside => Directory.CreateDirectory(_dir.Combine("outside")).FullName;

    [Fact]
    public void An_outside_backing_file_is_refused_on_its_name_with_the_same_error_whether_it_exists_or_not()
    {
        var policy = new RootPolicy(Root);
        QemuTools.Create(Path.Combine(Outside, "exists.qcow2"), 1 << 20);
        var messages = new List<string>();
        foreach (var name in new[] { "exists.qcow2", "missing.qcow2" })
        {
            var top = Path.Combine(Root, $"top-{name}");
            QemuTools.Img("create", "-q", "-f", "qcow2", "-u", "-b", $"../outside/{name}", "-F", "qcow2", top, "1M").EnsureSuccess();
            policy.Asked.Clear();

            var e = Assert.Throws<Qcow2Exception>(() => ImageChain.Open(top, new ChainOpenOptions { Confinement = policy }).Dispose());

            Assert.Equal(Qcow2ErrorKind.Confined, e.Kind);
            Assert.Contains("outside the test root", e.Message, StringComparison.Ordinal);
            // Asked about the outside file once, on its name: it was never opened, so never asked about a descriptor.
            Assert.Single(policy.Asked, p => p == Path.Combine(Outside, name));
            Assert.Equal(Path.Combine(Outside, name), policy.Asked[^1]);
            messages.Add(e.Message.Replace(name, "NAME", StringComparison.Ordinal));
        }

        Assert.Equal(messages[0], messages[1]);
    }

    [Fact]
    public void A_symlink_swapped_outside_between_the_name_check_and_the_open_is_caught_on_the_descriptor()
    {
        var inside = Path.Combine(Root, "real.qcow2");
        var outside = Path.Combine(Outside, "o.qcow2");
        QemuTools.Create(inside, 1 << 20);
        QemuTools.Create(outside, 1 << 20);
        var link = Path.Combine(Root, "disk.qcow2");
        File.CreateSymbolicLink(link, inside);
        var policy = new RootPolicy(Root)
        {
            // The race, made certain: the name passes, then the link is repointed before the open follows it.
            AfterFirstAnswer = () =>
            {
                File.Delete(link);
                File.CreateSymbolicLink(link, outside);
            },
        };

        var e = Assert.Throws<Qcow2Exception>(() => Qcow2Image.Open(link, ImageOpenOptions.ReadOnly() with { Confinement = policy }).Dispose());

        Assert.Equal(Qcow2ErrorKind.Confined, e.Kind);
        Assert.Contains("redirected", e.Message, StringComparison.Ordinal);
        Assert.Equal([inside, outside], policy.Asked);
    }

    [Fact]
    public void A_new_image_outside_is_refused_before_it_is_created()
    {
        var path = Path.Combine(Outside, "new.qcow2");

        var e = Assert.Throws<Qcow2Exception>(() =>
            Qcow2Image.Create(path, new ImageCreateOptions { Size = 1 << 20, Confinement = new RootPolicy(Root) }).Dispose());

        Assert.Equal(Qcow2ErrorKind.Confined, e.Kind);
        Assert.False(File.Exists(path));
    }

    [Fact]
    public void Images_inside_open_with_their_backing_chain()
    {
        var @base = Path.Combine(Root, "base.qcow2");
        QemuTools.Create(@base, 1 << 20);
        QemuTools.Create(Path.Combine(Root, "top.qcow2"), 1 << 20, backing: "base.qcow2", workingDirectory: Root);

        using var chain = ImageChain.Open(Path.Combine(Root, "top.qcow2"), new ChainOpenOptions { WritableTop = true, Confinement = new RootPolicy(Root) });

        Assert.Equal(2, chain.Images.Count);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_fifo_is_refused_at_once_as_an_image_and_as_a_backing_file(bool writable)
    {
        var fifo = Path.Combine(Root, $"fifo-{writable}");
        ProcessRunner.Run("mkfifo", [fifo]).EnsureSuccess();
        var top = Path.Combine(Root, $"over-fifo-{writable}.qcow2");
        QemuTools.Img("create", "-q", "-f", "qcow2", "-u", "-b", Path.GetFileName(fifo), "-F", "qcow2", top, "1M").EnsureSuccess();

        foreach (var path in new[] { fifo, top })
        {
            // On a thread of its own: before the fix the open blocks forever, and the test must fail, not hang.
            var open = Task.Run(() => ImageChain.Open(path, new ChainOpenOptions { WritableTop = writable }).Dispose());
            var finished = await Task.WhenAny(open, Task.Delay(TimeSpan.FromSeconds(10)));
            Assert.True(finished == open, $"opening {path} blocked");
            var e = await Assert.ThrowsAsync<Qcow2Exception>(() => open);
            Assert.Equal(Qcow2ErrorKind.NotRegularFile, e.Kind);
            Assert.Contains(fifo, e.Message, StringComparison.Ordinal);
        }
    }

    /// <summary>The other kinds the issue names beside FIFOs: a character device, a Unix socket, a folder.</summary>
    [Theory]
    [InlineData("device")]
    [InlineData("socket")]
    [InlineData("folder")]
    public void A_device_a_socket_or_a_folder_is_refused_as_not_a_regular_file(string kind)
    {
        var path = Path.Combine(Root, kind);
        using var listener = kind == "socket" ? new System.Net.Sockets.Socket(System.Net.Sockets.AddressFamily.Unix, System.Net.Sockets.SocketType.Stream, System.Net.Sockets.ProtocolType.Unspecified) : null;
        switch (kind)
        {
            case "device":
                // The same device as /dev/null (char 1:3): reads would answer at once, so only fstat can tell.
                var mknod = ProcessRunner.Run("mknod", [path, "c", "1", "3"]);
                Assert.True(mknod.ExitCode == 0, $"this test makes a device node with mknod (root, Debian package coreutils): {mknod.StdErr}");
                break;
            case "socket":
                listener!.Bind(new System.Net.Sockets.UnixDomainSocketEndPoint(path));
                break;
            default:
                Directory.CreateDirectory(path);
                break;
        }

        foreach (var writable in new[] { false, true })
        {
            var e = Assert.Throws<Qcow2Exception>(() => ImageChain.Open(path, new ChainOpenOptions { WritableTop = writable, Confinement = new RootPolicy(Root) }).Dispose());
            Assert.Equal(Qcow2ErrorKind.NotRegularFile, e.Kind);
            Assert.Contains(path, e.Message, StringComparison.Ordinal);
        }
    }

    public void Dispose() => _dir.Dispose();

    /// <summary>Allows what lies under one folder; records every path it was asked about.</summary>
    private sealed class RootPolicy(string root) : IFileConfinement
    {
        public List<string> Asked { get; } = [];

        public Action? AfterFirstAnswer { get; init; }

        public string? Refusal(string resolvedPath)
        {
            Asked.Add(resolvedPath);
            var refusal = PhysicalPath.IsUnder(resolvedPath, PhysicalPath.Resolve(root)) ? null : "it lies outside the test root";
            if (Asked.Count == 1)
            {
                AfterFirstAnswer?.Invoke();
            }

            return refusal;
        }
    }
}
