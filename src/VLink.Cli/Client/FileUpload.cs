using System.Net.Http.Headers;
using Spectre.Console;

namespace VLink.Cli.Client;

/// <summary>Streams a file to a route as one request body, with a progress bar over the bytes sent.</summary>
internal static class FileUpload
{
    /// <summary>
    /// POSTs the file at <paramref name="path"/> to <paramref name="target"/> (CSV or NDJSON by <paramref name="format"/>)
    /// with a progress bar labelled <paramref name="verb"/> on <paramref name="console"/>; returns the answer text. A
    /// refusal is the exception <paramref name="failure"/> makes of the response and its body.
    /// </summary>
    public static async Task<string> SendAsync(
        VLinkClient client, IAnsiConsole console, string path, string target, string format, string verb,
        Func<HttpResponseMessage, string, Exception> failure, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(client);
        ArgumentNullException.ThrowIfNull(console);
        ArgumentNullException.ThrowIfNull(failure);
        await using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, useAsync: true);
        long length = stream.Length;
        string answer = "";
        await console.Progress()
            .AutoClear(false)
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new DownloadedColumn(), new TransferSpeedColumn())
            .StartAsync(async progress =>
            {
                var task = progress.AddTask($"{verb} {Markup.Escape(Path.GetFileName(path))}", maxValue: Math.Max(1, length));
                using var content = new StreamContent(new CountingStream(stream, read => task.Value = read));
                content.Headers.ContentType = new MediaTypeHeaderValue(format == "csv" ? "text/csv" : "application/x-ndjson");
                content.Headers.ContentLength = length;
                using var request = new HttpRequestMessage(HttpMethod.Post, VLinkClient.Relative(target)) { Content = content };
                using var response = await client.SendAsync(request, HttpCompletionOption.ResponseContentRead, cancellationToken).ConfigureAwait(false);
                answer = await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false);
                if (response.IsSuccessStatusCode) task.Value = task.MaxValue;
                task.StopTask();
                if (!response.IsSuccessStatusCode) throw failure(response, answer);
            }).ConfigureAwait(false);
        return answer;
    }
}
