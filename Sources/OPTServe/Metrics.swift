import Foundation

/// The server's Prometheus metrics: request counts by endpoint and status, token counts, queue
/// depth, and latency histograms, rendered in the text exposition format.
final class ServerMetrics: @unchecked Sendable {
    static let buckets: [Double] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120]

    private struct Histogram {
        var counts = Array(repeating: 0, count: ServerMetrics.buckets.count)
        var sum = 0.0
        var total = 0
        mutating func observe(_ value: Double) {
            for (i, bound) in ServerMetrics.buckets.enumerated() where value <= bound { counts[i] += 1 }
            sum += value
            total += 1
        }
    }

    private let lock = NSLock()
    private var requests: [String: Int] = [:]
    private var duration = Histogram()
    private var firstToken = Histogram()

    func request(endpoint: String, status: Int, seconds: Double?) {
        lock.lock()
        defer { lock.unlock() }
        requests["endpoint=\"\(endpoint)\",status=\"\(status)\"", default: 0] += 1
        if let seconds { duration.observe(seconds) }
    }

    func timeToFirstToken(_ seconds: Double) {
        lock.lock()
        firstToken.observe(seconds)
        lock.unlock()
    }

    func render(engine: Engine) -> String {
        let (waiting, running) = engine.load
        let tokens = engine.tokenCounts
        lock.lock()
        defer { lock.unlock() }
        var out = "# HELP optiml_requests_total HTTP requests by endpoint and status.\n# TYPE optiml_requests_total counter\n"
        for (labels, count) in requests.sorted(by: { $0.key < $1.key }) { out += "optiml_requests_total{\(labels)} \(count)\n" }
        out += "# HELP optiml_generated_tokens_total Tokens generated.\n# TYPE optiml_generated_tokens_total counter\noptiml_generated_tokens_total \(tokens.generated)\n"
        out += "# HELP optiml_prompt_tokens_total Prompt tokens processed.\n# TYPE optiml_prompt_tokens_total counter\noptiml_prompt_tokens_total \(tokens.prompt)\n"
        out += "# HELP optiml_queue_depth Sequences waiting to join the batch.\n# TYPE optiml_queue_depth gauge\noptiml_queue_depth \(waiting)\n"
        out += "# HELP optiml_running_sequences Sequences in the running batch.\n# TYPE optiml_running_sequences gauge\noptiml_running_sequences \(running)\n"
        out += Self.render("optiml_request_duration_seconds", "Time from request to complete response.", duration)
        out += Self.render("optiml_time_to_first_token_seconds", "Time from request to the first generated token.", firstToken)
        return out
    }

    private static func render(_ name: String, _ help: String, _ h: Histogram) -> String {
        var out = "# HELP \(name) \(help)\n# TYPE \(name) histogram\n"
        for (bound, count) in zip(buckets, h.counts) { out += "\(name)_bucket{le=\"\(bound)\"} \(count)\n" }
        out += "\(name)_bucket{le=\"+Inf\"} \(h.total)\n\(name)_sum \(h.sum)\n\(name)_count \(h.total)\n"
        return out
    }
}
