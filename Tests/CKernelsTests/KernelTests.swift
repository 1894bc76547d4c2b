import CKernels
import Foundation
import Testing

/// Every kernel and weight format against a double-precision reference, on the fast path and the portable one.
@Suite("Kernels", .serialized)
struct KernelTests {
    /// The instruction sets this machine can run: the best one and the portable fallback.
    static let isas: [Int32] = {
        let best = ck_isa()
        return best == Int32(CK_ISA_PORTABLE) ? [best] : [best, Int32(CK_ISA_PORTABLE)]
    }()

    struct Generator {
        var state: UInt64
        mutating func next() -> Float {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Float(Int64(bitPattern: state) >> 40) / Float(1 << 23)
        }
    }

    static func random(_ count: Int, seed: UInt64) -> [Float] {
        var g = Generator(state: seed)
        return (0..<count).map { _ in g.next() }
    }

    /// Weights stored in `format` and the exact f32 values they stand for.
    static func stored(_ values: [Float], rows: Int, cols: Int, format: String) -> (bytes: [UInt8], scales: [Float], exact: [Float]) {
        switch format {
        case "f16":
            var half = [UInt16](repeating: 0, count: values.count)
            ck_f32_to_f16(values, &half, values.count)
            return (half.withUnsafeBytes { Array($0) }, [], half.map { ck_f16_to_f32($0) })
        case "bf16":
            var bf = [UInt16](repeating: 0, count: values.count)
            ck_f32_to_bf16(values, &bf, values.count)
            return (bf.withUnsafeBytes { Array($0) }, [], bf.map { Float(bitPattern: UInt32($0) << 16) })
        case "int8":
            var q = [Int8](repeating: 0, count: values.count)
            var scales = [Float](repeating: 0, count: rows)
            ck_quantize_rows_q8(values, &q, &scales, rows, cols)
            return (q.withUnsafeBytes { Array($0) }, scales, q.indices.map { Float(q[$0]) * scales[$0 / cols] })
        default:
            return (values.withUnsafeBytes { Array($0) }, [], values)
        }
    }

    static func matmul(_ format: String, _ bytes: [UInt8], _ scales: [Float], _ x: [Float], m: Int, rows: Int, cols: Int, _ range: Range<Int>) -> [Float] {
        var y = [Float](repeating: .nan, count: m * rows)
        bytes.withUnsafeBytes { raw in
            switch format {
            case "f16": ck_matmul_f16(raw.bindMemory(to: UInt16.self).baseAddress, x, &y, m, rows, cols, range.lowerBound, range.upperBound)
            case "bf16": ck_matmul_bf16(raw.bindMemory(to: UInt16.self).baseAddress, x, &y, m, rows, cols, range.lowerBound, range.upperBound)
            case "int8": ck_matmul_q8(raw.bindMemory(to: Int8.self).baseAddress, scales, x, &y, m, rows, cols, range.lowerBound, range.upperBound)
            default: ck_matmul_f32(raw.bindMemory(to: Float.self).baseAddress, x, &y, m, rows, cols, range.lowerBound, range.upperBound)
            }
        }
        return y
    }

    @Test("matmul matches a double reference for every format, size, batch and row range",
          arguments: ["f32", "f16", "bf16", "int8"])
    func matmulMatchesReference(format: String) {
        for isa in Self.isas {
            ck_set_isa(isa)
            defer { ck_set_isa(Self.isas[0]) }
            for (rows, cols) in [(5, 1), (9, 7), (13, 33), (11, 64), (6, 768), (4, 3072)] {
                let (bytes, scales, exact) = Self.stored(Self.random(rows * cols, seed: UInt64(rows * 31 + cols)), rows: rows, cols: cols, format: format)
                for m in [1, 2, 3, 4, 5, 9] {
                    let x = Self.random(m * cols, seed: UInt64(m))
                    let range = 1..<rows  // row 0 must stay untouched
                    let y = Self.matmul(format, bytes, scales, x, m: m, rows: rows, cols: cols, range)
                    for i in 0..<m {
                        #expect(y[i * rows].isNaN, "row outside the range was written")
                        // int8 kernels may also quantize the input to int8 (error ≤ max|x| / 254 per element).
                        let inputStep = format == "int8" ? Double(x[(i * cols)..<((i + 1) * cols)].map(abs).max() ?? 0) / 254 : 0
                        for r in range {
                            var reference = 0.0, magnitude = 0.0, quantization = 0.0
                            for c in 0..<cols {
                                reference += Double(exact[r * cols + c]) * Double(x[i * cols + c])
                                magnitude += abs(Double(exact[r * cols + c]) * Double(x[i * cols + c]))
                                quantization += abs(Double(exact[r * cols + c])) * inputStep
                            }
                            let error = abs(Double(y[i * rows + r]) - reference)
                            #expect(error <= 1e-5 * max(magnitude, 1) + quantization,
                                    "isa \(isa) \(format) \(rows)×\(cols) m=\(m) r=\(r): \(y[i * rows + r]) vs \(reference)")
                        }
                    }
                }
            }
        }
    }

    @Test("rows convert to the exact f32 values", arguments: ["f16", "bf16", "int8"])
    func rowConversion(format: String) {
        for isa in Self.isas {
            ck_set_isa(isa)
            defer { ck_set_isa(Self.isas[0]) }
            let rows = 7, cols = 45
            let (bytes, scales, exact) = Self.stored(Self.random(rows * cols, seed: 3), rows: rows, cols: cols, format: format)
            var out = [Float](repeating: .nan, count: 4 * cols)
            bytes.withUnsafeBytes { raw in
                switch format {
                case "f16": ck_rows_to_f32_f16(raw.bindMemory(to: UInt16.self).baseAddress, &out, cols, 2, 6)
                case "bf16": ck_rows_to_f32_bf16(raw.bindMemory(to: UInt16.self).baseAddress, &out, cols, 2, 6)
                default: ck_rows_to_f32_q8(raw.bindMemory(to: Int8.self).baseAddress, scales, &out, cols, 2, 6)
                }
            }
            #expect(out == Array(exact[(2 * cols)..<(6 * cols)]))
        }
    }

    @Test func int8QuantizationErrorIsBoundedAndZeroRowsStayZero() {
        let rows = 3, cols = 100
        var values = Self.random(rows * cols, seed: 11)
        for c in 0..<cols { values[cols + c] = 0 }
        let (_, scales, exact) = Self.stored(values, rows: rows, cols: cols, format: "int8")
        #expect(scales[1] == 0)
        for r in 0..<rows {
            let maximum = values[(r * cols)..<((r + 1) * cols)].map(abs).max() ?? 0
            #expect(abs(scales[r] - maximum / 127) <= 1e-7)
            for c in 0..<cols {
                #expect(!exact[r * cols + c].isNaN)
                #expect(abs(exact[r * cols + c] - values[r * cols + c]) <= scales[r] / 2 + 1e-7)
            }
        }
    }

    @Test func halfConversionRoundsToNearestEvenAndKeepsSpecials() {
        let cases: [(Float, UInt16)] = [
            (0, 0x0000), (-0.0, 0x8000), (1, 0x3C00), (65504, 0x7BFF), (65520, 0x7C00), (1e9, 0x7C00),
            (.infinity, 0x7C00), (-.infinity, 0xFC00), (5.960_464_5e-8, 0x0001), (2.980_232_2e-8, 0x0000),
            (1.000_488_3, 0x3C00), (1.001_464_8, 0x3C02),  // ties go to even
        ]
        for (value, bits) in cases {
            var out: UInt16 = 0
            var input = value
            ck_f32_to_f16(&input, &out, 1)
            #expect(out == bits, "\(value) -> \(String(out, radix: 16))")
        }
        var nan = Float.nan, out: UInt16 = 0
        ck_f32_to_f16(&nan, &out, 1)
        #expect(ck_f16_to_f32(out).isNaN)
        // Every half value survives f16 -> f32 -> f16.
        for bits in UInt16.min...UInt16.max where (bits & 0x7C00) != 0x7C00 || (bits & 0x3FF) == 0 {
            var value = ck_f16_to_f32(bits), back: UInt16 = 0
            ck_f32_to_f16(&value, &back, 1)
            #expect(back == bits)
        }
    }

    @Test func bfloat16ConversionRoundsToNearestEven() {
        let cases: [(Float, UInt16)] = [(1, 0x3F80), (Float(bitPattern: 0x3F80_8000), 0x3F80), (Float(bitPattern: 0x3F81_8000), 0x3F82),
                                        (Float(bitPattern: 0x3F80_8001), 0x3F81), (-2, 0xC000), (.infinity, 0x7F80)]
        for (value, bits) in cases {
            var input = value, out: UInt16 = 0
            ck_f32_to_bf16(&input, &out, 1)
            #expect(out == bits)
        }
    }

    @Test("int8 GEMM (AVX-512 VNNI) matches the reference within the input quantization error",
          .enabled(if: ck_vnni_available() != 0, "this processor has no AVX-512 VNNI"))
    func vnniGemm() {
        for (m, rows, cols) in [(17, 9, 64), (20, 13, 100), (33, 6, 768), (5, 4, 1)] {
            let (bytes, scales, exact) = Self.stored(Self.random(rows * cols, seed: UInt64(cols)), rows: rows, cols: cols, format: "int8")
            let q = bytes.map { Int8(bitPattern: $0) }
            let sums = (0..<rows).map { r in q[(r * cols)..<((r + 1) * cols)].reduce(Int32(0)) { $0 + Int32($1) } }
            let x = Self.random(m * cols, seed: 77)
            var inputs = [UInt8](repeating: 0, count: m * cols), inputScales = [Float](repeating: 0, count: m)
            ck_gemm_q8_quantize_inputs(x, &inputs, &inputScales, m, cols)
            var y = [Float](repeating: .nan, count: m * rows)
            ck_gemm_q8(inputs, inputScales, q, scales, sums, &y, m, rows, cols, 1, rows)
            for i in 0..<m {
                #expect(y[i * rows].isNaN, "row outside the range was written")
                let step = Double(x[(i * cols)..<((i + 1) * cols)].map(abs).max() ?? 0) / 254
                for r in 1..<rows {
                    var reference = 0.0, bound = 1e-4
                    for c in 0..<cols {
                        reference += Double(exact[r * cols + c]) * Double(x[i * cols + c])
                        bound += abs(Double(exact[r * cols + c])) * step
                    }
                    #expect(abs(Double(y[i * rows + r]) - reference) <= bound, "\(m)×\(rows)×\(cols) i=\(i) r=\(r)")
                }
            }
        }
    }

    @Test func dotAndAxpyMatchReference() {
        for isa in Self.isas {
            ck_set_isa(isa)
            defer { ck_set_isa(Self.isas[0]) }
            for n in [0, 1, 7, 8, 17, 64, 129] {
                let a = Self.random(n, seed: 5), b = Self.random(n, seed: 6)
                let reference = zip(a, b).map { Double($0) * Double($1) }.reduce(0, +)
                #expect(abs(Double(ck_dot_f32(a, b, n)) - reference) <= 1e-5 * Double(max(n, 1)))
                var y = b
                ck_axpy_f32(0.5, a, &y, n)
                for i in 0..<n { #expect(abs(y[i] - (b[i] + 0.5 * a[i])) <= 1e-6) }
            }
        }
    }
}
