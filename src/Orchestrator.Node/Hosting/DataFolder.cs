using System.Security.Cryptography;
using System.Text;

namespace Orchestrator.Node.Hosting;

/// <summary>
/// The node's data folder while the node runs: created with mode 0700, locked against a second node, holding the
/// bearer token (created once with mode 0600, reused afterwards) and the endpoint file clients discover the URL from.
/// </summary>
public sealed class DataFolder : IDisposable
{
    private const UnixFileMode OwnerOnlyFolder = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;
    private const UnixFileMode OwnerOnlyFile = UnixFileMode.UserRead | UnixFileMode.UserWrite;
    private readonly FileStream _lock;
    private string? _writtenEndpoint;

    private DataFolder(string path, FileStream lockFile, string token, bool tokenCreated)
    {
        Path = path;
        _lock = lockFile;
        Token = token;
        TokenCreated = tokenCreated;
    }

    public string Path { get; }

    /// <summary>The bearer token every API request must carry.</summary>
    public string Token { get; }

    /// <summary>True when this start created the token (the first start with this folder).</summary>
    public bool TokenCreated { get; }

    public string TokenPath => System.IO.Path.Combine(Path, NodePaths.TokenFile);

    public string EndpointPath => System.IO.Path.Combine(Path, NodePaths.EndpointFile);

    /// <summary>Creates (if needed) and locks the folder, and loads or creates the token.</summary>
    /// <exception cref="IOException">Another node holds the folder, or a file cannot be read or written.</exception>
    public static DataFolder Open(string path)
    {
        if (OperatingSystem.IsWindows())
        {
            Directory.CreateDirectory(path);
        }
        else
        {
            Directory.CreateDirectory(path, OwnerOnlyFolder);
        }

        var lockFile = AcquireLock(path);
        try
        {
            var (token, created) = LoadOrCreateToken(System.IO.Path.Combine(path, NodePaths.TokenFile));
            return new DataFolder(path, lockFile, token, created);
        }
        catch
        {
            lockFile.Dispose();
            throw;
        }
    }

    /// <summary>True when the token file can be read by others than its owner (it should be 0600).</summary>
    public bool TokenReadableByOthers =>
        !OperatingSystem.IsWindows()
        && (File.GetUnixFileMode(TokenPath) & (UnixFileMode.GroupRead | UnixFileMode.OtherRead | UnixFileMode.GroupWrite | UnixFileMode.OtherWrite)) != 0;

    /// <summary>Publishes the node's URL; written to a temporary file and renamed so readers never see half a line.</summary>
    public void WriteEndpoint(string url)
    {
        var temp = EndpointPath + ".tmp";
        File.WriteAllText(temp, url + "\n");
        File.Move(temp, EndpointPath, overwrite: true);
        _writtenEndpoint = url;
    }

    /// <summary>Removes the endpoint file if it still holds what this node wrote.</summary>
    public void RemoveEndpoint()
    {
        try
        {
            if (_writtenEndpoint is not null && File.Exists(EndpointPath) && File.ReadAllText(EndpointPath).Trim() == _writtenEndpoint)
            {
                File.Delete(EndpointPath);
            }
        }
        catch (IOException)
        {
            // Best effort: a stale endpoint file only makes a client report "cannot reach the node".
        }
    }

    public void Dispose()
    {
        RemoveEndpoint();
        _lock.Dispose();
    }

    private static FileStream AcquireLock(string folder)
    {
        var path = System.IO.Path.Combine(folder, NodePaths.LockFile);
        try
        {
            // FileShare.None takes an exclusive advisory lock (flock) on Unix; the kernel drops it when the process dies.
            return new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
        }
        catch (IOException e)
        {
            throw new IOException($"another orchestrator node is already using the data folder '{folder}' ({e.Message})", e);
        }
    }

    private static (string Token, bool Created) LoadOrCreateToken(string path)
    {
        if (File.Exists(path))
        {
            var existing = File.ReadAllText(path).Trim();
            if (existing.Length < 16)
            {
                throw new IOException($"the token file '{path}' is empty or too short; delete it to have a new token created");
            }

            return (existing, false);
        }

        var token = Base64Url(RandomNumberGenerator.GetBytes(32));
        var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write, Share = FileShare.None };
        if (!OperatingSystem.IsWindows())
        {
            // Created 0600 from the start: no window in which another user could read it.
            options.UnixCreateMode = OwnerOnlyFile;
        }

        using (var stream = new FileStream(path, options))
        {
            stream.Write(Encoding.ASCII.GetBytes(token + "\n"));
            stream.Flush(flushToDisk: true);
        }

        return (token, true);
    }

    private static string Base64Url(byte[] bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');
}
