using Microsoft.AspNetCore.Http;
using Orchestrator.Domain;
using Orchestrator.Domain.Jobs;
using Orchestrator.Engine;
using Orchestrator.Contracts;

namespace Orchestrator.Node.Api;

/// <summary>Checks of request values that need no engine: ids, speeds, on-error policies, paths inside the storage roots.</summary>
public static class RequestChecks
{
    /// <summary>The domain's one id rule (<see cref="IdRule"/>), the same the actors apply.</summary>
    public static string Id(string? value, string field)
    {
        if (string.IsNullOrEmpty(value))
        {
            throw ApiException.MissingField(field);
        }

        return IdRule.Problem(value, field) is { } problem ? throw ApiException.InvalidParameter(problem) : value;
    }

    public static string? OptionalId(string? value, string field) => value is null ? null : Id(value, field);

    /// <summary>A disk's host: absent (the node taking the request), or a cluster node name.</summary>
    public static string? Host(string? value, string field = "host") =>
        value is not null && Engine.Cluster.ClusterSettings.NodeNameProblem(value) is { } problem
            ? throw ApiException.InvalidParameter($"{field}: {problem}")
            : value;

    /// <summary>
    /// The highest speed a job accepts, 1 TiB/s: far above any disk, and low enough that the rate limiter's
    /// bytes-per-slice arithmetic (speed times 10^6 ticks) cannot overflow a long. 0 means unlimited.
    /// </summary>
    public const long MaxSpeed = 1L << 40;

    public static long Speed(long? value, string field = "speed")
    {
        if (value is < 0)
        {
            // QEMU's wording for a negative speed.
            throw ApiException.InvalidParameter($"Invalid parameter '{field}': must be 0 (unlimited) or a positive number of bytes per second");
        }

        if (value is > MaxSpeed)
        {
            throw ApiException.InvalidParameter($"Invalid parameter '{field}': {value} bytes per second is above the maximum {MaxSpeed} (1 TiB/s); use 0 for unlimited");
        }

        return value ?? 0;
    }

    public static OnErrorPolicy OnError(string? value)
    {
        if (value is null)
        {
            return OnErrorPolicy.Report;
        }

        return QemuNames.TryParse(value, out var policy)
            ? policy
            : throw ApiException.InvalidParameter($"Parameter 'onError' does not accept value '{IdRule.Printable(value)}' (report, ignore, stop, enospc)");
    }

    /// <summary>A path as the file system can take it (<see cref="PathRule"/>); 400 naming the field otherwise.</summary>
    public static string PathText(string? value, string field)
    {
        var path = RequiredString(value, field);
        return PathRule.Problem(path, field) is { } problem ? throw ApiException.InvalidParameter(problem) : path;
    }

    public static string? OptionalPathText(string? value, string field) => value is null ? null : PathText(value, field);

    public static string RequiredString(string? value, string field) =>
        string.IsNullOrWhiteSpace(value) ? throw ApiException.MissingField(field) : value;

    /// <summary>The canonical path of an image the API may touch; 400 for a malformed path, 403 outside the storage roots.</summary>
    public static string InsideStorageRoots(string? path, string field, IReadOnlyList<string> roots)
    {
        var value = PathText(path, field);
        try
        {
            return StoragePolicy.Resolve(value, roots);
        }
        catch (StorageRootException e)
        {
            throw new ApiException(StatusCodes.Status403Forbidden, ErrorCodes.OutsideStorageRoot, e.Message);
        }
    }
}
