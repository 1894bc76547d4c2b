import CKernels
import Foundation
import Testing

/// int4 weights: packing, quantization and ck_matmul_q4 / ck_rows_to_f32_q4 on every instruction set.
/// An extension of the serialized "Kernels" suite, because `ck_set_isa` switches the kernels for the whole process.
extension KernelTests {
    /// int4 weights in ck_matmul_q4's layout at an odd address (as in a memory-mapped checkpoint), with the
    /// exact f32 values they stand for.
    final class StoredQ4 {
        let rows: Int, cols: Int
        let buffer: UnsafeMutableRawPointer
        let data: UnsafeMutablePointer<UInt8>
        let scales: [UInt16]
        let exact: [Float]

        init(_ values: [Float], rows: Int, cols: Int) {
            self.rows = rows
            self.cols = cols
            var packed = [UInt8](repeating: 0, count: rows * cols / 2)
            var scales = [UInt16](repeating: 0, count: rows * cols / Int(CK_Q4_GROUP))
            ck_quantize_rows_q4(values, &packed, &scales, rows, cols)
            self.scales = scales
            exact = StoredQ4.unpack(packed, scales, rows: rows, cols: cols)
            buffer = UnsafeMutableRawPointer.allocate(byteCount: packed.count + 64, alignment: 64)
            data = (buffer + 1).bindMemory(to: UInt8.self, capacity: packed.count)
            data.update(from: packed, count: packed.count)
        }

        deinit { buffer.deallocate() }

        /// The documented layout read back one value at a time (independent of the kernels).
        static func unpack(_ packed: [UInt8], _ scales: [UInt16], rows: Int, cols: Int) -> [Float] {
            let group = Int(CK_Q4_GROUP)
            return (0..<(rows * cols)).map { i in
                let r = i / cols, c = i % cols, g = c / group, j = c % group
                let byte = packed[r * cols / 2 + g * group / 2 + j % (group / 2)]
                let nibble = j < group / 2 ? byte & 15 : byte >> 4
                return ck_f16_to_f32(scales[r * (cols / group) + g]) * Float(Int(nibble) - 8)
            }
        }

        func matmul(_ x: [Float], m: Int, _ range: Range<Int>) -> [Float] {
            var y = [Float](repeating: .nan, count: m * rows)
            ck_matmul_q4(data, scales, x, &y, m, rows, cols, range.lowerBound, range.upperBound)
            return y
        }
    }

    /// Packing: byte j of a group holds columns j (low nibble) and j + 16 (high nibble) plus 8; a group whose
    /// largest magnitude is 7 has scale exactly 1, so the stored values are the weights themselves.
    @Test func int4PackingLayoutAndRounding() {
        // Columns 0…15: -7…7 and 0; columns 16…31: halves that round to even, then the maximum 7.
        let low: [Float] = (-7...7).map(Float.init) + [0]
        let high: [Float] = [2.5, 3.5, -2.5, -3.5, 0.5, -0.5, 1.5, 6.5] + [Float](repeating: 7, count: 8)
        var packed = [UInt8](repeating: 0, count: 16)
        var scales = [UInt16](repeating: 0, count: 1)
        ck_quantize_rows_q4(low + high, &packed, &scales, 1, 32)
        #expect(ck_f16_to_f32(scales[0]) == 1)
        let expectedHigh = [2, 4, -2, -4, 0, 0, 2, 6] + [Int](repeating: 7, count: 8)
        for j in 0..<16 {
            #expect(Int(packed[j] & 15) - 8 == Int(low[j]), "column \(j)")
            #expect(Int(packed[j] >> 4) - 8 == expectedHigh[j], "column \(j + 16)")
        }
    }

    @Test func int4QuantizationErrorIsBoundedAndZeroGroupsStayZero() {
        let rows = 7, cols = 96
        var values = Self.random(rows * cols, seed: 11).map { $0 * 3 }
        for c in 32..<64 { values[2 * cols + c] = 0 }  // an all-zero group
        values[5 * cols + 3] = .nan
        let stored = StoredQ4(values, rows: rows, cols: cols)
        let group = Int(CK_Q4_GROUP)
        for r in 0..<rows {
            for g in 0..<(cols / group) {
                let slice = (0..<group).map { values[r * cols + g * group + $0] }
                let maximum = slice.filter { !$0.isNaN }.map(abs).max() ?? 0
                let scale = ck_f16_to_f32(stored.scales[r * (cols / group) + g])
                // The scale is max/7 rounded to half precision (relative error ≤ 2^-11).
                #expect(abs(scale - maximum / 7) <= maximum / 7 / 2048, "row \(r) group \(g)")
                for j in 0..<group {
                    let i = r * cols + g * group + j
                    if values[i].isNaN {
                        #expect(stored.exact[i] == 0)
                    } else {
                        // Half a step, plus the clamp at 7 when the rounded scale makes max/scale exceed 7.5.
                        #expect(abs(stored.exact[i] - values[i]) <= scale / 2 + maximum / 2048, "row \(r) col \(g * group + j)")
                    }
                }
            }
        }
        #expect((32..<64).allSatisfy { stored.exact[2 * cols + $0] == 0 })
        #expect(stored.scales[2 * 3 + 1] == 0)
    }

    @Test("int4 rows convert to the exact f32 values of the layout")
    func int4RowConversion() {
        let rows = 9, cols = 160
        let stored = StoredQ4(Self.random(rows * cols, seed: 12), rows: rows, cols: cols)
        Self.forEachISA { isa in
            var out = [Float](repeating: .nan, count: 4 * cols)
            ck_rows_to_f32_q4(stored.data, stored.scales, &out, cols, 3, 7)
            #expect(out == Array(stored.exact[(3 * cols)..<(7 * cols)]), "isa \(isa)")
        }
    }

    /// Each path against a double-precision sum over the dequantized weights. Tolerance: 1e-5 · Σ|W·x| for
    /// f32 rounding (as the other formats' tests); on AVX2 also Σ_c |W[r,c]| · max|x in c's block| / 254 for
    /// the inputs' int8 quantization, and 1e-6 · Σ_g scale_g · 8 · Σ_{c in g} |x_c| for the f32 rounding of the
    /// "Σ u·x − 8·Σ x" split, whose two terms can be far larger than the result.
    static func expectQ4Matches(_ y: [Float], _ stored: StoredQ4, _ x: [Float], m: Int, _ range: Range<Int>, quantizesInputs: Bool,
                                _ label: String) {
        let rows = stored.rows, cols = stored.cols, group = Int(CK_Q4_GROUP)
        for i in 0..<m {
            let xi = Array(x[(i * cols)..<((i + 1) * cols)])
            let blockMax = (0..<(cols / group)).map { g in xi[(g * group)..<((g + 1) * group)].map(abs).max() ?? 0 }
            for r in 0..<rows {
                let value = y[i * rows + r]
                guard range.contains(r) else {
                    #expect(value.isNaN, "\(label): row \(r) outside the range was written")
                    continue
                }
                var reference = 0.0, magnitude = 0.0, inputBound = 0.0, splitBound = 0.0
                for c in 0..<cols {
                    let w = Double(stored.exact[r * cols + c]), xc = Double(xi[c])
                    reference += w * xc
                    magnitude += abs(w * xc)
                    inputBound += abs(w) * Double(blockMax[c / group]) / 254
                    splitBound += Double(ck_f16_to_f32(stored.scales[r * (cols / group) + c / group])) * 8 * abs(xc)
                }
                let bound = 1e-5 * magnitude + 1e-6 + (quantizesInputs ? inputBound + 1e-6 * splitBound : 0)
                #expect(abs(Double(value) - reference) <= bound, "\(label): i=\(i) r=\(r) got \(value) want \(reference)")
            }
        }
    }

    @Test("int4 matmul matches a double reference for every size, batch 1…9 and 16, and row range")
    func int4MatmulMatchesReference() {
        // Group counts 1, 3, 7, 8, 9 and 24: partial and whole chunks of eight groups, odd pairs.
        let shapes = [(1, 32), (5, 96), (37, 224), (16, 256), (6, 288), (64, 768)]
        Self.forEachISA { isa in
            for (rows, cols) in shapes {
                let stored = StoredQ4(Self.random(rows * cols, seed: UInt64(rows * cols)), rows: rows, cols: cols)
                for m in Array(1...9) + [16] {
                    let x = Self.random(m * cols, seed: UInt64(m + 100))
                    for range in [0..<rows, (rows / 3)..<rows] {
                        let y = stored.matmul(x, m: m, range)
                        Self.expectQ4Matches(y, stored, x, m: m, range, quantizesInputs: isa == Int32(CK_ISA_AVX2),
                                             "isa \(isa) \(rows)×\(cols) m=\(m) rows \(range)")
                    }
                }
            }
        }
    }

    @Test("int4 matmul: wide inputs (heap-held on AVX2) and an empty row range")
    func int4WideAndEmpty() {
        let rows = 3, cols = 4096, m = 9
        let stored = StoredQ4(Self.random(rows * cols, seed: 13), rows: rows, cols: cols)
        let x = Self.random(m * cols, seed: 14)
        Self.forEachISA { isa in
            Self.expectQ4Matches(stored.matmul(x, m: m, 0..<rows), stored, x, m: m, 0..<rows,
                                 quantizesInputs: isa == Int32(CK_ISA_AVX2), "isa \(isa) wide")
            let untouched = stored.matmul(x, m: m, 2..<2).allSatisfy { $0.isNaN }
            #expect(untouched, "isa \(isa)")
        }
    }
}
