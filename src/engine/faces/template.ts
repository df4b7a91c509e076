/** The face model's 5-point template (128² frame), measured by bench/faces-template.ts; do not edit by hand. */
export const TEMPLATE_128 = {
 "size": 128,
 "points": [[37.18, 36.65], [86.78, 37.02], [62.16, 65.99], [40.68, 87.47], [83.98, 87.9]],
 "order": ["image-left eye centre", "image-right eye centre", "nose tip", "image-left mouth corner", "image-right mouth corner"],
 "how": "Mean of the 5 points (face-api 68-point landmarks → eye centres 36–41/42–47, nose tip 30, mouth corners 48/54) detected on 290 of 300 faces/train images (evenly spaced over the set; each 128² face centred on a 256² canvas of its mean colour; SSD-MobileNetV1, score ≥ 0.5; 10 not found). bench/faces-template.ts.",
 "measuredOn": 290,
 "missed": 10,
 "std": [[1.71, 1.72], [1.76, 1.78], [3.7, 3.42], [3.58, 2.52], [3.96, 2.62]],
 "median": [[37.29, 36.69], [86.86, 36.94], [62.15, 65.94], [40.44, 87.74], [83.77, 87.99]]
};
