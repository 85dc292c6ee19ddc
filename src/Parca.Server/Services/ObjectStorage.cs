using System.Globalization;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Parca.Scrape.Config;
using Parca.Server.Debuginfo;
using Parca.Storage.Buckets;

namespace Parca.Server.Services;

/// <summary>
/// The bucket of parca.yaml's <c>object_storage</c> that blocks go to. Only <c>type: S3</c> turns object storage on
/// (with --enable-persistence, or --mode=query): a FILESYSTEM bucket keeps blocks under --storage-path as before,
/// since a local directory shared by several servers is what --storage-path already is. The S3 keys follow
/// Thanos/Parca: bucket, endpoint, region, access_key, secret_key (or the AWS_* environment variables), insecure,
/// bucket_lookup_type (auto, path, virtual-hosted), part_size; <c>prefix</c> puts every key under a folder.
/// </summary>
internal static class ObjectStorage
{
    /// <summary>
    /// Debuginfo goes where the blocks go: under <c>debuginfo/</c> in the S3 bucket when one is configured, else in
    /// &lt;--storage-path&gt;/debuginfo as before. A bucket a host registered itself (tests) is left alone.
    /// </summary>
    public static void AddDebuginfoBucket(IServiceCollection services)
    {
        if (services.Any(d => d.ServiceType == typeof(IDebuginfoBucket)))
        {
            return;
        }

        services.AddSingleton<IDebuginfoBucket>(sp =>
        {
            if (sp.GetRequiredService<ConfiguredBucket>().Bucket is not { } bucket)
            {
                return new FileSystemDebuginfoBucket(sp.GetRequiredService<DebuginfoOptions>().BucketDirectory);
            }

            var shared = new ObjectDebuginfoBucket(bucket);
            ServerLog.StorageEvent(sp.GetRequiredService<ILoggerFactory>().CreateLogger("Parca.Debuginfo"), $"debuginfo: uploads go to {shared.Description}");
            return shared;
        });
    }

    public static IObjectBucket? Open(ParcaServerOptions options, Action<string> log)
    {
        if (!(options.EnablePersistence || options.Mode == "query") || !File.Exists(options.ConfigPath))
        {
            return null;
        }

        ParcaConfig config;
        try
        {
            config = ConfigLoader.LoadFile(options.ConfigPath);
        }
        catch (ConfigException e)
        {
            log($"storage: object storage not configured: {e.Message}");
            return null;
        }

        if (config.ObjectStorage?.Bucket is not { Type: "S3" } bucket)
        {
            if (options.Mode == "query")
            {
                throw new InvalidOperationException($"--mode=query needs an S3 bucket in {options.ConfigPath} (object_storage.bucket.type: S3) to read blocks from");
            }

            return null;
        }

        var c = bucket.Config;
        var s3 = new S3BucketOptions
        {
            Bucket = c.GetValueOrDefault("bucket", ""),
            Endpoint = c.GetValueOrDefault("endpoint", ""),
            Region = c.GetValueOrDefault("region") is { Length: > 0 } region ? region : "us-east-1",
            AccessKey = c.GetValueOrDefault("access_key"),
            SecretKey = c.GetValueOrDefault("secret_key"),
            Insecure = c.GetValueOrDefault("insecure") is "true",
            PathStyle = c.GetValueOrDefault("bucket_lookup_type") is "path" || c.GetValueOrDefault("force_path_style") is "true",
            Prefix = bucket.Prefix,
        };
        if (c.GetValueOrDefault("part_size") is { } partSize)
        {
            s3.PartSize = (int)Math.Clamp(long.Parse(partSize, CultureInfo.InvariantCulture), 5L << 20, 1L << 30);
        }

        var b = new S3Bucket(s3);
        log($"storage: blocks go to {b.Description}{(s3.Prefix.Length > 0 ? $" under {s3.Prefix}/" : "")}");
        return b;
    }
}
