using System.Diagnostics;
using Amazon.Runtime;
using Amazon.S3;
using Amazon.S3.Model;

namespace Parca.Server.Tests;

/// <summary>
/// A real S3 server for the object storage tests: Ceph's radosgw as a one-node cluster on loopback, started by
/// scripts/s3/start-s3.sh (Debian packages ceph-mon, ceph-osd, radosgw; scripts/bootstrap.sh test installs them) and
/// removed by stop-s3.sh. <see cref="StopGatewayAsync"/>/<see cref="StartGatewayAsync"/> take only the S3 endpoint away
/// and back (the objects stay), which is what a bucket outage looks like to parca.
/// </summary>
public sealed class RadosGw : IAsyncDisposable
{
    private readonly string _dir;

    private RadosGw(string dir, string endpoint, string accessKey, string secretKey)
    {
        _dir = dir;
        Endpoint = endpoint;
        AccessKey = accessKey;
        SecretKey = secretKey;
    }

    public string Endpoint { get; }

    public string AccessKey { get; }

    public string SecretKey { get; }

    private static string Scripts => Path.Combine(RepoPaths.Root, "scripts", "s3");

    public static async Task<RadosGw> StartAsync()
    {
        if (!File.Exists("/usr/bin/radosgw"))
        {
            throw new InvalidOperationException("radosgw is not installed: run scripts/bootstrap.sh test (Debian packages ceph-mon ceph-osd radosgw)");
        }

        var dir = Path.Combine(Path.GetTempPath(), $"parca-rgw-{Environment.ProcessId}-{Guid.NewGuid():N}"[..40]);
        var (code, output) = await RunAsync(Path.Combine(Scripts, "start-s3.sh"), dir, LoopbackPort.Free().ToString(System.Globalization.CultureInfo.InvariantCulture));
        if (code != 0)
        {
            throw new InvalidOperationException($"start-s3.sh failed ({code}):\n{output}");
        }

        var env = File.ReadAllLines(Path.Combine(dir, "s3.env")).Select(l => l.Split('=', 2)).ToDictionary(p => p[0], p => p[1]);
        return new RadosGw(dir, env["S3_ENDPOINT"], env["S3_ACCESS_KEY"], env["S3_SECRET_KEY"]);
    }

    public AmazonS3Client Client() => new(new BasicAWSCredentials(AccessKey, SecretKey), new AmazonS3Config
    {
        ServiceURL = Endpoint,
        ForcePathStyle = true,
        AuthenticationRegion = "us-east-1",
        RequestChecksumCalculation = RequestChecksumCalculation.WHEN_REQUIRED,
        ResponseChecksumValidation = ResponseChecksumValidation.WHEN_REQUIRED,
    });

    public async Task CreateBucketAsync(string name)
    {
        using var client = Client();
        await client.PutBucketAsync(new PutBucketRequest { BucketName = name });
    }

    public async Task<List<S3Object>> ListAsync(string bucket, string prefix)
    {
        using var client = Client();
        var result = new List<S3Object>();
        var request = new ListObjectsV2Request { BucketName = bucket, Prefix = prefix };
        while (true)
        {
            var response = await client.ListObjectsV2Async(request);
            result.AddRange(response.S3Objects ?? []);
            if (response.IsTruncated != true)
            {
                return result;
            }

            request.ContinuationToken = response.NextContinuationToken;
        }
    }

    /// <summary>parca.yaml pointing at this server's bucket, under <paramref name="prefix"/>.</summary>
    public string ParcaYaml(string bucket, string prefix) =>
        $"object_storage:\n  bucket:\n    type: \"S3\"\n    prefix: \"{prefix}\"\n    config:\n      bucket: \"{bucket}\"\n" +
        $"      endpoint: \"{Endpoint.Replace("http://", "", StringComparison.Ordinal)}\"\n      insecure: true\n      bucket_lookup_type: path\n" +
        $"      access_key: \"{AccessKey}\"\n      secret_key: \"{SecretKey}\"\nscrape_configs: []\n";

    public async Task StopGatewayAsync() => Check(await RunAsync(Path.Combine(Scripts, "rgw.sh"), _dir, "stop"), "rgw.sh stop");

    public async Task StartGatewayAsync() => Check(await RunAsync(Path.Combine(Scripts, "rgw.sh"), _dir, "start"), "rgw.sh start");

    private static void Check((int Code, string Output) r, string what)
    {
        if (r.Code != 0)
        {
            throw new InvalidOperationException($"{what} failed ({r.Code}):\n{r.Output}");
        }
    }

    private static async Task<(int, string)> RunAsync(string script, params string[] args)
    {
        var start = new ProcessStartInfo(script) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in args)
        {
            start.ArgumentList.Add(a);
        }

        using var p = Process.Start(start)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        await p.WaitForExitAsync();
        return (p.ExitCode, await stdout + await stderr);
    }

    public async ValueTask DisposeAsync() => await RunAsync(Path.Combine(Scripts, "stop-s3.sh"), _dir);
}

/// <summary>One radosgw for the whole object storage test class (each test uses its own key prefix).</summary>
public sealed class RadosGwFixture : IAsyncLifetime
{
    public const string Bucket = "parca-tests";

    public RadosGw Gateway { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        Gateway = await RadosGw.StartAsync();
        await Gateway.CreateBucketAsync(Bucket);
    }

    public async Task DisposeAsync() => await Gateway.DisposeAsync();
}
