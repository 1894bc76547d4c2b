import Foundation

/// The server's Prometheus metrics: request counts by endpoint and status, requests in flight, token
/// counts, queue depth, latency histograms and the engine's batch sizes, rendered in the text
/// exposition format.
final class ServerMetrics: @unchecked Sendable {
    static let buckets: [Double] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120]
    /// Bounds of the batch-size histogram (sequences per decoding step).
    static let batchBuckets = [1, 2, 4, 8, 16, 32, 64, 128, 256]

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
    private var inFlight = 0
    private var duration = Histogram()
    private var firstToken = Histogram()

    /// A completion request has begun; `request(endpoint:status:seconds:)` ends it.
    func begin() {
        lock.lock()
        inFlight += 1
        lock.unlock()
    }

    /// Completion requests begun and not yet answered (a stream is answered when its headers go out).
    var requestsInFlight: Int {
        lock.lock()
        defer { lock.unlock() }
        return inFlight
    }

    func request(endpoint: String, status: Int, seconds: Double?) {
        lock.lock()
        defer { lock.unlock() }
        inFlight -= 1
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
        let batchSizes = engine.batchSizes
        lock.lock()
        defer { lock.unlock() }
        var out = "# HELP optiml_requests_total HTTP requests by endpoint and status.\n# TYPE optiml_requests_total counter\n"
        for (labels, count) in requests.sorted(by: { $0.key < $1.key }) { out += "optiml_requests_total{\(labels)} \(count)\n" }
        out += "# HELP optiml_requests_in_flight Completion requests begun and not yet answered.\n# TYPE optiml_requests_in_flight gauge\noptiml_requests_in_flight \(inFlight)\n"
        out += "# HELP optiml_generated_tokens_total Tokens generated.\n# TYPE optiml_generated_tokens_total counter\noptiml_generated_tokens_total \(tokens.generated)\n"
        out += "# HELP optiml_prompt_tokens_total Prompt tokens processed.\n# TYPE optiml_prompt_tokens_total counter\noptiml_prompt_tokens_total \(tokens.prompt)\n"
        out += "# HELP optiml_queue_depth Sequences waiting to join the batch.\n# TYPE optiml_queue_depth gauge\noptiml_queue_depth \(waiting)\n"
        out += "# HELP optiml_running_sequences Sequences in the running batch.\n# TYPE optiml_running_sequences gauge\noptiml_running_sequences \(running)\n"
        out += Self.render("optiml_request_duration_seconds", "Time from request to complete response.", duration)
        out += Self.render("optiml_time_to_first_token_seconds", "Time from request to the first generated token.", firstToken)
        out += Self.renderBatchSizes(batchSizes)
        return out
    }

    /// Sequences per decoding step, from the engine's counts by size: whether requests share steps.
    private static func renderBatchSizes(_ steps: [Int: Int]) -> String {
        let name = "optiml_batch_size"
        var out = "# HELP \(name) Sequences in each decoding step.\n# TYPE \(name) histogram\n"
        for bound in batchBuckets {
            out += "\(name)_bucket{le=\"\(bound)\"} \(steps.filter { $0.key <= bound }.values.reduce(0, +))\n"
        }
        let total = steps.values.reduce(0, +), sum = steps.map { $0.key * $0.value }.reduce(0, +)
        out += "\(name)_bucket{le=\"+Inf\"} \(total)\n\(name)_sum \(sum)\n\(name)_count \(total)\n"
        return out
    }

    private static func render(_ name: String, _ help: String, _ h: Histogram) -> String {
        var out = "# HELP \(name) \(help)\n# TYPE \(name) histogram\n"
        for (bound, count) in zip(buckets, h.counts) { out += "\(name)_bucket{le=\"\(bound)\"} \(count)\n" }
        out += "\(name)_bucket{le=\"+Inf\"} \(h.total)\n\(name)_sum \(h.sum)\n\(name)_count \(h.total)\n"
        return out
    }
}
